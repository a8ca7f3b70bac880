/* CRC-32C (Castagnoli): hardware (SSE4.2) when the CPU has it, slicing-by-8 otherwise. */
#ifndef RINGSTACK_CRC32C_H
#define RINGSTACK_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/* Builds the tables and detects the CPU; call once before the others. */
void crc32c_init(void);
/* 1 when crc32c_update uses the CPU instruction. */
int crc32c_hardware(void);
/* Continues `crc` (0 to start, a previous result to chain) over n bytes at p. */
uint32_t crc32c_update(uint32_t crc, const uint8_t *p, size_t n);
/* The same with the portable table loop always (tests compare both). */
uint32_t crc32c_update_software(uint32_t crc, const uint8_t *p, size_t n);
#endif
