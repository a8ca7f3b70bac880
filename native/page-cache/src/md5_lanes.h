/*
 * MD5 block functions: one stream (portable C) and sixteen streams at once, each 32-bit lane of
 * a vector register carrying one stream's state: sixteen lanes per register with AVX-512F, two
 * registers of eight with AVX2. The message words come from each stream's own 64-byte block
 * (gathered with AVX-512F, loaded and transposed with AVX2), so nothing is copied into a shared
 * buffer first.
 */
#ifndef RINGSTACK_MD5_LANES_H
#define RINGSTACK_MD5_LANES_H
#include <stdint.h>
#include <stddef.h>

#define MD5_LANES 16
#define MD5_BLOCK 64

/* The initial state (RFC 1321). */
void md5_init(uint32_t state[4]);
/* Advances one stream by one 64-byte block. */
void md5_block(uint32_t state[4], const uint8_t *block);
/* Advances up to sixteen streams by one block each: lane i's state is state[0..3][i], its
 * block blocks[i]; lanes whose bit in `active` is 0 are left as they are (their block pointer
 * must still point to 64 readable bytes). Only when md5_lanes_supported(). */
void md5_block_x16(uint32_t state[4][MD5_LANES], const uint8_t *const blocks[MD5_LANES], uint16_t active);
/* True when md5_block_x16 runs on vector lanes (md5_lanes_kind() is not "none"). */
int md5_lanes_supported(void);
/* Which instructions md5_block_x16 uses: "avx512f", "avx2" or "none", chosen once: the best the
 * CPU has, at most what RINGSTACK_MD5_LANES names ("avx512f", "avx2" or "off"; to compare them,
 * and for the tests to reach each). */
const char *md5_lanes_kind(void);
/* The digest of a stream whose whole blocks are in `state`: the last `tail_len` (< 64) bytes
 * are `tail`, `total` the stream's length in bytes. */
void md5_finish(uint32_t state[4], const uint8_t *tail, size_t tail_len, uint64_t total, uint8_t out[16]);
#endif
