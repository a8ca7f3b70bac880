/*
 * MD5 (RFC 1321) for one stream and for sixteen streams at once; see md5_lanes.h.
 *
 * Why sixteen at once: MD5 is a chain of dependent steps, so one stream cannot use more than a
 * sliver of a core's vector units (OpenSSL reaches ~0.6 GB/s here). The proxy hashes every large
 * PUT body it relays and, under load, has many bodies in flight; advancing sixteen of them per
 * instruction is several times faster per byte. The lane functions are compiled for AVX-512F and
 * for AVX2 (target attributes, not build flags) and the best one the CPU has is used. AVX2 came
 * second (session 30): hosts without AVX-512 (AMD before Zen 4, many Intel desktops) hashed
 * every body one stream at a time, a quarter of the proxy's CPU on a 16 MiB PUT.
 */
#include <stdlib.h>
#include <string.h>
#include "md5_lanes.h"

static const uint32_t K[64] = {
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};
/* Left-rotation of each step, four per round. */
static const int R[4][4] = { { 7, 12, 17, 22 }, { 5, 9, 14, 20 }, { 4, 11, 16, 23 }, { 6, 10, 15, 21 } };

/* Which message word step i of each round reads. */
static inline int word(int i) {
  if (i < 16) return i;
  if (i < 32) return (5 * i + 1) & 15;
  if (i < 48) return (3 * i + 5) & 15;
  return (7 * i) & 15;
}

void md5_init(uint32_t s[4]) {
  s[0] = 0x67452301; s[1] = 0xefcdab89; s[2] = 0x98badcfe; s[3] = 0x10325476;
}

static inline uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static inline uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void md5_block(uint32_t s[4], const uint8_t *block) {
  uint32_t m[16];
  for (int i = 0; i < 16; i++) m[i] = le32(block + 4 * i);
  uint32_t a = s[0], b = s[1], c = s[2], d = s[3];
  /* Unrolled, each step's function, word and rotation are constants: 44 ms of CPU per 16 MiB
   * as a loop, 32 ms unrolled (node:crypto's OpenSSL: 27.5 ms; session 30's host). */
  _Pragma("GCC unroll 64")
  for (int i = 0; i < 64; i++) {
    uint32_t f;
    if (i < 16) f = (b & c) | (~b & d);
    else if (i < 32) f = (d & b) | (~d & c);
    else if (i < 48) f = b ^ c ^ d;
    else f = c ^ (b | ~d);
    uint32_t t = d;
    d = c;
    c = b;
    b = b + rol(a + f + K[i] + m[word(i)], R[i >> 4][i & 3]);
    a = t;
  }
  s[0] += a; s[1] += b; s[2] += c; s[3] += d;
}

void md5_finish(uint32_t s[4], const uint8_t *tail, size_t tail_len, uint64_t total, uint8_t out[16]) {
  uint8_t last[2 * MD5_BLOCK] = { 0 };
  memcpy(last, tail, tail_len);
  last[tail_len] = 0x80;
  size_t n = tail_len + 1 + 8 <= MD5_BLOCK ? MD5_BLOCK : 2 * MD5_BLOCK;
  uint64_t bits = total * 8;
  for (int i = 0; i < 8; i++) last[n - 8 + i] = (uint8_t)(bits >> (8 * i));
  for (size_t off = 0; off < n; off += MD5_BLOCK) md5_block(s, last + off);
  for (int i = 0; i < 4; i++) {
    out[4 * i] = (uint8_t)s[i];
    out[4 * i + 1] = (uint8_t)(s[i] >> 8);
    out[4 * i + 2] = (uint8_t)(s[i] >> 16);
    out[4 * i + 3] = (uint8_t)(s[i] >> 24);
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define AVX512_TARGET __attribute__((target("avx512f")))
#define AVX2_TARGET __attribute__((target("avx2")))

/* ---- sixteen lanes in one AVX-512F register ---- */

/* Word `w` of each lane's block: two gathers of eight 64-bit addresses each. */
AVX512_TARGET static inline __m512i gather_word(__m512i lo, __m512i hi, int w) {
  __m512i off = _mm512_set1_epi64(4 * w);
  __m256i a = _mm512_i64gather_epi32(_mm512_add_epi64(lo, off), NULL, 1);
  __m256i b = _mm512_i64gather_epi32(_mm512_add_epi64(hi, off), NULL, 1);
  return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
}

/* One step: f is the round's function of b, c, d (a ternary-logic immediate per round). */
#define STEP512(f)                                                                           \
  do {                                                                                       \
    __m512i t = d;                                                                           \
    __m512i x = _mm512_add_epi32(_mm512_add_epi32(a, f), _mm512_add_epi32(_mm512_set1_epi32((int)K[i]), m[word(i)])); \
    d = c;                                                                                   \
    c = b;                                                                                   \
    b = _mm512_add_epi32(b, _mm512_rolv_epi32(x, _mm512_set1_epi32(R[i >> 4][i & 3])));    \
    a = t;                                                                                   \
  } while (0)

AVX512_TARGET static void block_x16_avx512(uint32_t state[4][MD5_LANES], const uint8_t *const blocks[MD5_LANES], uint16_t active) {
  __m512i lo = _mm512_loadu_si512((const void *)&blocks[0]);
  __m512i hi = _mm512_loadu_si512((const void *)&blocks[8]);
  __m512i m[16];
  for (int w = 0; w < 16; w++) m[w] = gather_word(lo, hi, w);
  __m512i a0 = _mm512_loadu_si512(state[0]), b0 = _mm512_loadu_si512(state[1]);
  __m512i c0 = _mm512_loadu_si512(state[2]), d0 = _mm512_loadu_si512(state[3]);
  __m512i a = a0, b = b0, c = c0, d = d0;
  int i = 0;
  /* 0xca: b ? c : d;  G = d ? b : c;  0x96: b ^ c ^ d;  0x39: c ^ (b | ~d). */
  _Pragma("GCC unroll 16")
  for (; i < 16; i++) STEP512(_mm512_ternarylogic_epi32(b, c, d, 0xca));
  _Pragma("GCC unroll 16")
  for (; i < 32; i++) STEP512(_mm512_ternarylogic_epi32(d, b, c, 0xca));
  _Pragma("GCC unroll 16")
  for (; i < 48; i++) STEP512(_mm512_ternarylogic_epi32(b, c, d, 0x96));
  _Pragma("GCC unroll 16")
  for (; i < 64; i++) STEP512(_mm512_ternarylogic_epi32(b, c, d, 0x39));
  __mmask16 k = (__mmask16)active;
  _mm512_storeu_si512(state[0], _mm512_mask_add_epi32(a0, k, a0, a));
  _mm512_storeu_si512(state[1], _mm512_mask_add_epi32(b0, k, b0, b));
  _mm512_storeu_si512(state[2], _mm512_mask_add_epi32(c0, k, c0, c));
  _mm512_storeu_si512(state[3], _mm512_mask_add_epi32(d0, k, d0, d));
}

/* ---- sixteen lanes in two AVX2 registers of eight ---- */

/* Rows r[l] = eight words of lane l become r[w] = word w of the eight lanes. */
AVX2_TARGET static inline void transpose8(__m256i r[8]) {
  __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
  __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
  r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

/* The sixteen message words of eight lanes' blocks (x86 is little-endian, as MD5's words are). */
AVX2_TARGET static inline void load_words8(__m256i m[16], const uint8_t *const *blocks) {
  for (int l = 0; l < 8; l++) {
    m[l] = _mm256_loadu_si256((const __m256i *)blocks[l]);
    m[8 + l] = _mm256_loadu_si256((const __m256i *)(blocks[l] + 32));
  }
  transpose8(m);
  transpose8(m + 8);
}

AVX2_TARGET static inline __m256i rol8(__m256i x, int n) {
  return _mm256_or_si256(_mm256_slli_epi32(x, n), _mm256_srli_epi32(x, 32 - n));
}

/* The four round functions (RFC 1321's F, G, H, I) in as few operations as AVX2 allows. */
AVX2_TARGET static inline __m256i round_f(int i, __m256i b, __m256i c, __m256i d) {
  if (i < 16) return _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)));
  if (i < 32) return _mm256_xor_si256(c, _mm256_and_si256(d, _mm256_xor_si256(b, c)));
  if (i < 48) return _mm256_xor_si256(_mm256_xor_si256(b, c), d);
  return _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, _mm256_set1_epi32(-1))));
}

/* One step of both halves: two independent chains, so one's latency hides behind the other's. */
#define STEP256()                                                                            \
  do {                                                                                       \
    __m256i k = _mm256_set1_epi32((int)K[i]);                                                \
    int r = R[i >> 4][i & 3], w = word(i);                                                   \
    __m256i xl = _mm256_add_epi32(_mm256_add_epi32(al, round_f(i, bl, cl, dl)), _mm256_add_epi32(k, ml[w])); \
    __m256i xh = _mm256_add_epi32(_mm256_add_epi32(ah, round_f(i, bh, ch, dh)), _mm256_add_epi32(k, mh[w])); \
    al = dl; dl = cl; cl = bl; bl = _mm256_add_epi32(bl, rol8(xl, r));                      \
    ah = dh; dh = ch; ch = bh; bh = _mm256_add_epi32(bh, rol8(xh, r));                      \
  } while (0)

/* Lanes whose bit in `active` is set, as all-ones 32-bit words: bits 0-7 of `bits`. */
AVX2_TARGET static inline __m256i active_mask8(unsigned bits) {
  __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)bits), bit), bit);
}

AVX2_TARGET static void block_x16_avx2(uint32_t state[4][MD5_LANES], const uint8_t *const blocks[MD5_LANES], uint16_t active) {
  __m256i ml[16], mh[16];
  load_words8(ml, blocks);
  load_words8(mh, blocks + 8);
  __m256i s[4][2];
  for (int j = 0; j < 4; j++) {
    s[j][0] = _mm256_loadu_si256((const __m256i *)state[j]);
    s[j][1] = _mm256_loadu_si256((const __m256i *)(state[j] + 8));
  }
  __m256i al = s[0][0], bl = s[1][0], cl = s[2][0], dl = s[3][0];
  __m256i ah = s[0][1], bh = s[1][1], ch = s[2][1], dh = s[3][1];
  _Pragma("GCC unroll 64")
  for (int i = 0; i < 64; i++) STEP256();
  __m256i out[4][2] = { { al, ah }, { bl, bh }, { cl, ch }, { dl, dh } };
  __m256i mask[2] = { active_mask8(active & 0xff), active_mask8(active >> 8) };
  for (int j = 0; j < 4; j++)
    for (int h = 0; h < 2; h++) {
      __m256i sum = _mm256_add_epi32(s[j][h], out[j][h]);
      _mm256_storeu_si256((__m256i *)(state[j] + 8 * h), _mm256_blendv_epi8(s[j][h], sum, mask[h]));
    }
}

typedef void (*BlockX16)(uint32_t state[4][MD5_LANES], const uint8_t *const blocks[MD5_LANES], uint16_t active);

static BlockX16 chosen;
static const char *chosen_kind;

/* The best lane function the CPU has, at most what RINGSTACK_MD5_LANES allows. */
static void choose(void) {
  if (chosen_kind) return;
  __builtin_cpu_init();
  const char *cap = getenv("RINGSTACK_MD5_LANES");
  int allow512 = !cap || !*cap || strcmp(cap, "avx512f") == 0;
  int allow2 = allow512 || strcmp(cap, "avx2") == 0;
  if (allow512 && __builtin_cpu_supports("avx512f")) {
    chosen = block_x16_avx512;
    chosen_kind = "avx512f";
  } else if (allow2 && __builtin_cpu_supports("avx2")) {
    chosen = block_x16_avx2;
    chosen_kind = "avx2";
  } else {
    chosen_kind = "none";
  }
}

const char *md5_lanes_kind(void) {
  choose();
  return chosen_kind;
}

int md5_lanes_supported(void) {
  choose();
  return chosen != NULL;
}

/* Once per block of every lane group: no choice here, md5_lanes_supported() made it. */
void md5_block_x16(uint32_t state[4][MD5_LANES], const uint8_t *const blocks[MD5_LANES], uint16_t active) {
  chosen(state, blocks, active);
}
#else
int md5_lanes_supported(void) { return 0; }
const char *md5_lanes_kind(void) { return "none"; }
void md5_block_x16(uint32_t state[4][MD5_LANES], const uint8_t *const blocks[MD5_LANES], uint16_t active) {
  for (int l = 0; l < MD5_LANES; l++) {
    if (!(active >> l & 1)) continue;
    uint32_t s[4] = { state[0][l], state[1][l], state[2][l], state[3][l] };
    md5_block(s, blocks[l]);
    for (int j = 0; j < 4; j++) state[j][l] = s[j];
  }
}
#endif
