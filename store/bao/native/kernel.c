/*
 * BLAKE3 compression of W inputs at once (one per vector lane), with GCC/Clang vector
 * extensions (GCC or Clang): compiled once per width (build.ts), each with the instruction set it needs
 * (W=16: AVX-512F, W=8: AVX2, W=4: the baseline). Written for verity from the BLAKE3 paper's
 * definitions; addon.c picks the widest the CPU runs.
 *
 * hash_many(inputs, blocks, ...) hashes W inputs of `blocks` whole 64-byte blocks each (chunks:
 * 16 blocks; parents: 1 block) and writes W 32-byte chaining values, lane l at out + 32 * l.
 */
#include <stdint.h>
#include <string.h>

#ifndef W
#error "W (lanes) must be defined"
#endif
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(name, W)

typedef uint32_t vec __attribute__((vector_size(W * 4)));

static const uint32_t IV[8] = {
  0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
  0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u
};

static inline vec rotr (vec x, int n) { return (x >> n) | (x << (32 - n)); }

static inline vec load_vec (const uint8_t *p) { vec v; memcpy(&v, p, sizeof v); return v; }

/* Interleave the low (or high) halves of a and b: a0 b0 a1 b1 ... */
#if W == 16
#define ZIP_LO 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define ZIP_HI 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#define STAGES 4
#elif W == 8
#define ZIP_LO 0, 8, 1, 9, 2, 10, 3, 11
#define ZIP_HI 4, 12, 5, 13, 6, 14, 7, 15
#define STAGES 3
#elif W == 4
#define ZIP_LO 0, 4, 1, 5
#define ZIP_HI 2, 6, 3, 7
#define STAGES 2
#else
#error "W must be 4, 8 or 16"
#endif

/* Clang and GCC 12 on have __builtin_shufflevector; older GCC has __builtin_shuffle. */
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define SHUFFLE(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#endif
#endif
#ifndef SHUFFLE
#define SHUFFLE(a, b, ...) __builtin_shuffle(a, b, (vec){ __VA_ARGS__ })
#endif

/*
 * x[r] holds W words of row r; afterwards x[w] holds word w of every row (a W x W transpose:
 * log2(W) rounds of interleaving row j with row j + W/2).
 */
static inline void transpose (vec x[W]) {
  for (int s = 0; s < STAGES; s++) {
    vec y[W];
    for (int j = 0; j < W / 2; j++) {
      y[2 * j] = SHUFFLE(x[j], x[j + W / 2], ZIP_LO);
      y[2 * j + 1] = SHUFFLE(x[j], x[j + W / 2], ZIP_HI);
    }
    memcpy(x, y, sizeof y);
  }
}

/* The 16 message words of block `offset` of each input, word w of lane l in m[w][l]. */
static inline void load_message (const uint8_t *const *inputs, size_t offset, vec m[16]) {
  for (int part = 0; part < 16 / W; part++) {
    vec x[W];
    for (int l = 0; l < W; l++) x[l] = load_vec(inputs[l] + offset + part * W * 4);
    transpose(x);
    for (int w = 0; w < W; w++) m[part * W + w] = x[w];
  }
}

#define G(a, b, c, d, x, y) \
  v[a] += v[b] + m[x]; v[d] = rotr(v[d] ^ v[a], 16); v[c] += v[d]; v[b] = rotr(v[b] ^ v[c], 12); \
  v[a] += v[b] + m[y]; v[d] = rotr(v[d] ^ v[a], 8); v[c] += v[d]; v[b] = rotr(v[b] ^ v[c], 7);
#define ROUND(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15) \
  G(0, 4, 8, 12, s0, s1) G(1, 5, 9, 13, s2, s3) G(2, 6, 10, 14, s4, s5) G(3, 7, 11, 15, s6, s7) \
  G(0, 5, 10, 15, s8, s9) G(1, 6, 11, 12, s10, s11) G(2, 7, 8, 13, s12, s13) G(3, 4, 9, 14, s14, s15)

void FN(verity_hash_many_) (const uint8_t *const *inputs, size_t blocks, uint64_t counter, int increment,
  uint32_t flags, uint32_t flags_start, uint32_t flags_end, uint8_t *out) {
  vec h[8];
  for (int i = 0; i < 8; i++) h[i] = (vec){} + IV[i];
  vec lo, hi;
  for (int l = 0; l < W; l++) {
    uint64_t c = counter + (increment ? (uint64_t)l : 0);
    lo[l] = (uint32_t)c;
    hi[l] = (uint32_t)(c >> 32);
  }
  for (size_t b = 0; b < blocks; b++) {
    uint32_t f = flags | (b == 0 ? flags_start : 0) | (b + 1 == blocks ? flags_end : 0);
    vec m[16];
    load_message(inputs, b * 64, m);
    vec v[16] = {
      h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
      (vec){} + IV[0], (vec){} + IV[1], (vec){} + IV[2], (vec){} + IV[3],
      lo, hi, (vec){} + 64u, (vec){} + f
    };
    ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
    ROUND(2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)
    ROUND(3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1)
    ROUND(10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6)
    ROUND(12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4)
    ROUND(9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7)
    ROUND(11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13)
    for (int i = 0; i < 8; i++) h[i] = v[i] ^ v[i + 8];
  }
  for (int l = 0; l < W; l++) {
    for (int i = 0; i < 8; i++) {
      uint32_t word = h[i][l];
      memcpy(out + 32 * l + 4 * i, &word, 4); /* little-endian hosts only: addon.c checks */
    }
  }
}
