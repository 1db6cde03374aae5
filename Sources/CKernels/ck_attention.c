// Fused attention for Float32 queries, keys and values (one head, no mask, every query sees
// every key): the vision encoder's and the resampler's attention. Through OpenBLAS the two
// products of a 1024-token SigLIP head have an inner dimension of 72 or an output width of 72
// and reach about half of the SGEMM rate of the big projections, and the score block makes a
// round trip through memory between them. Here a block of R query rows computes its scores
// into an L1-resident strip (keys packed transposed once per call), takes the softmax in
// place and multiplies by the packed values, all in registers tiles.
//
// One implementation over the compiler's generic vectors, instantiated per ISA with the tile
// shape that fits its register file; ck_attention_f32_ref is the scalar twin.
#include "ck_internal.h"
#include <stdlib.h>

#pragma clang diagnostic ignored "-Wpsabi"

typedef float ck_v8f __attribute__((vector_size(32), aligned(4)));
typedef float ck_v16f __attribute__((vector_size(64), aligned(4)));

/// Keys are padded to a multiple of 32 (every instance's key tile divides it), value rows to a
/// multiple of 16 floats (every instance's vector width divides it).
static inline int64_t keys_padded(int64_t n_kv) { return (n_kv + 31) / 32 * 32; }
/// Row stride of the score strip: 16 floats more than the padded key count, so that its rows
/// are not 4 KiB apart for 1024 keys, where they would all fall into the same L1 set.
static inline int64_t keys_stride(int64_t n_kv) { return keys_padded(n_kv) + 16; }
static inline int64_t width_padded(int64_t d) { return (d + 15) / 16 * 16; }

/// Query rows per block, and the block's strip (room for the largest tile overhang, R = 8).
#define CK_ATTN_BLOCK 32
#define CK_ATTN_STRIP (CK_ATTN_BLOCK + 8)
/// Keys per pass of the value products (a 72-wide head's chunk: 64 rows × 80 floats, 20 KiB).
#define CK_ATTN_VALUE_CHUNK 64

int64_t ck_attention_f32_scratch(int64_t n_kv, int64_t d) {
    const int64_t nks = keys_stride(n_kv), dp = width_padded(d);
    return d * keys_padded(n_kv) + n_kv * dp + CK_ATTN_STRIP * (d + nks + dp);
}

/// Keys transposed in panels of 32: kt[j / 32][c][j % 32] (zero padded), so a score tile reads
/// one contiguous 32·d-float panel front to back; values into vp[n_kv][dp] (zero padded).
static void pack_head(const float *k, int64_t k_stride, const float *v, int64_t v_stride, int64_t n_kv,
                      int64_t d, float *kt, float *vp) {
    const int64_t nkp = keys_padded(n_kv), dp = width_padded(d);
    for (int64_t j = 0; j < nkp; j++) {
        float *column = kt + (j / 32) * 32 * d + j % 32;
        for (int64_t c = 0; c < d; c++) column[c * 32] = j < n_kv ? k[j * k_stride + c] : 0.0f;
    }
    for (int64_t j = 0; j < n_kv; j++) {
        memcpy(vp + j * dp, v + j * v_stride, (size_t)d * sizeof(float));
        for (int64_t c = d; c < dp; c++) vp[j * dp + c] = 0;
    }
}

// VF: vector type of W floats. Score tiles are R query rows × KC·W keys; value tiles 4 rows ×
// up to CG chunks of W columns. EXP: the level's ck_exp_shifted.
//
// Loop order, for reuse from L1 rather than L2: a block of CK_ATTN_BLOCK query rows walks the
// keys in chunks of KC·W (a 72-wide head's chunk is 9 KiB) and every row group of the block
// uses the chunk before the next one is touched; the value products likewise walk the values
// in chunks of CK_ATTN_VALUE_CHUNK keys and accumulate all rows of the block into `ob`. A block
// streams the packed keys and values from L2 once, not once per register tile.
#define DEFINE_ATTENTION(NAME, ATTR, VF, W, R, KC, CG, EXP) \
ATTR __attribute__((always_inline)) static inline VF NAME##_ld(const float *p) { VF v; memcpy(&v, p, sizeof v); return v; } \
ATTR __attribute__((always_inline)) static inline void NAME##_st(float *p, VF v) { memcpy(p, &v, sizeof v); } \
/* s[r][j ..< j + KC·W] = scale · q[r]·k[j ...] for R rows; qt holds them transposed, qt[e·R + r], \
   so that the R broadcasts of one step read one cache line through one pointer. */ \
ATTR static void NAME##_score_tile(const float *qt, const float *kt, int64_t nks, int64_t j, \
                                   int64_t d, float scale, float *s) { \
    VF acc[R][KC]; \
    const float *panel = kt + (j / 32) * 32 * d + j % 32; \
    for (int r = 0; r < R; r++) for (int c = 0; c < KC; c++) acc[r][c] = (VF){0}; \
    for (int64_t e = 0; e < d; e++) { \
        VF kv[KC]; \
        for (int c = 0; c < KC; c++) kv[c] = NAME##_ld(panel + e * 32 + c * W); \
        _Pragma("unroll") for (int r = 0; r < R; r++) { \
            const float x = qt[e * R + r]; \
            for (int c = 0; c < KC; c++) acc[r][c] += x * kv[c]; \
        } \
    } \
    for (int r = 0; r < R; r++) for (int c = 0; c < KC; c++) NAME##_st(s + r * nks + j + c * W, acc[r][c] * scale); \
} \
/* ob[4][c0 ..< c0 + C·W] += p[4][j0 ..< j1]·vp[j0 ..< j1][c0 ...] */ \
ATTR __attribute__((always_inline)) static inline void NAME##_value_tile(const float *p, int64_t p_stride, \
        const float *vp, int64_t dp, int64_t j0, int64_t j1, int64_t c0, int C, float *ob) { \
    VF acc[4][CG]; \
    for (int r = 0; r < 4; r++) for (int c = 0; c < CG; c++) acc[r][c] = c < C ? NAME##_ld(ob + r * dp + c0 + c * W) : (VF){0}; \
    for (int64_t j = j0; j < j1; j++) { \
        VF vv[CG]; \
        for (int c = 0; c < CG; c++) vv[c] = c < C ? NAME##_ld(vp + j * dp + c0 + c * W) : (VF){0}; \
        _Pragma("unroll") for (int r = 0; r < 4; r++) { \
            const float x = p[r * p_stride + j]; \
            for (int c = 0; c < CG; c++) if (c < C) acc[r][c] += x * vv[c]; \
        } \
    } \
    for (int r = 0; r < 4; r++) for (int c = 0; c < CG; c++) if (c < C) NAME##_st(ob + r * dp + c0 + c * W, acc[r][c]); \
} \
ATTR static void NAME##_values_full(const float *p, int64_t p_stride, const float *vp, int64_t dp, int64_t j0, \
                                    int64_t j1, int64_t c0, float *ob) { NAME##_value_tile(p, p_stride, vp, dp, j0, j1, c0, CG, ob); } \
ATTR static void NAME##_values_part(const float *p, int64_t p_stride, const float *vp, int64_t dp, int64_t j0, \
                                    int64_t j1, int64_t c0, int C, float *ob) { NAME##_value_tile(p, p_stride, vp, dp, j0, j1, c0, C, ob); } \
ATTR void NAME(const float *q, int64_t q_stride, int64_t rows, const float *k, int64_t k_stride, \
               const float *v, int64_t v_stride, int64_t n_kv, int64_t d, float scale, \
               float *out, int64_t out_stride, float *scratch) { \
    const int64_t nkp = keys_padded(n_kv), nks = keys_stride(n_kv), dp = width_padded(d); \
    float *kt = scratch, *vp = kt + d * nkp, *qb = vp + n_kv * dp, *s = qb + CK_ATTN_STRIP * d, \
          *ob = s + CK_ATTN_STRIP * nks; \
    pack_head(k, k_stride, v, v_stride, n_kv, d, kt, vp); \
    double sums[CK_ATTN_STRIP]; \
    for (int64_t r0 = 0; r0 < rows; r0 += CK_ATTN_BLOCK) { \
        const int64_t rb = rows - r0 < CK_ATTN_BLOCK ? rows - r0 : CK_ATTN_BLOCK; \
        const int64_t groups = (rb + R - 1) / R, padded = groups * R; \
        /* The block's queries transposed per row group (zero rows pad the last group). */ \
        for (int64_t r = 0; r < padded; r++) { \
            float *column = qb + (r / R) * R * d + r % R; \
            for (int64_t e = 0; e < d; e++) column[e * R] = r < rb ? q[(r0 + r) * q_stride + e] : 0.0f; \
        } \
        for (int64_t j = 0; j < nkp; j += KC * W) \
            for (int64_t g = 0; g < groups; g++) NAME##_score_tile(qb + g * R * d, kt, nks, j, d, scale, s + g * R * nks); \
        const int64_t vrows = (rb + 3) / 4 * 4; \
        for (int64_t r = 0; r < vrows; r++) { \
            float *row = s + r * nks; \
            if (r >= rb) { memset(row, 0, (size_t)n_kv * sizeof(float)); sums[r] = 1; continue; } \
            VF top = (VF){0} - __builtin_inff(); \
            int64_t j = 0; \
            for (; j + W <= n_kv; j += W) top = __builtin_elementwise_max(top, NAME##_ld(row + j)); \
            float best = -__builtin_inff(); \
            for (int l = 0; l < W; l++) best = top[l] > best ? top[l] : best; \
            for (; j < n_kv; j++) best = row[j] > best ? row[j] : best; \
            sums[r] = EXP(row, row, n_kv, best); \
        } \
        memset(ob, 0, (size_t)(vrows * dp) * sizeof(float)); \
        for (int64_t j0 = 0; j0 < n_kv; j0 += CK_ATTN_VALUE_CHUNK) { \
            const int64_t j1 = n_kv - j0 < CK_ATTN_VALUE_CHUNK ? n_kv : j0 + CK_ATTN_VALUE_CHUNK; \
            for (int64_t g = 0; g < vrows; g += 4) \
                for (int64_t c0 = 0; c0 < dp; c0 += CG * W) { \
                    const int64_t left = (dp - c0) / W; \
                    if (left >= CG) NAME##_values_full(s + g * nks, nks, vp, dp, j0, j1, c0, ob + g * dp); \
                    else NAME##_values_part(s + g * nks, nks, vp, dp, j0, j1, c0, (int)left, ob + g * dp); \
                } \
        } \
        for (int64_t r = 0; r < rb; r++) { \
            const float inv = (float)(1.0 / sums[r]); \
            float *o = out + (r0 + r) * out_stride; \
            for (int64_t c = 0; c < d; c++) o[c] = ob[r * dp + c] * inv; \
        } \
    } \
}

// Portable: 8-float generic vectors (two SSE registers, one 256-bit or two NEON registers).
DEFINE_ATTENTION(ck_attention_f32_generic, , ck_v8f, 8, 4, 2, 2, ck_exp_shifted_generic)
#if defined(__x86_64__)
DEFINE_ATTENTION(ck_attention_f32_avx2, __attribute__((target("avx2,fma"))), ck_v8f, 8, 6, 2, 4, ck_exp_shifted_avx2)
DEFINE_ATTENTION(ck_attention_f32_avx512, __attribute__((target("avx2,fma,avx512f"))), ck_v16f, 16, 8, 2, 5,
                 ck_exp_shifted_avx512)
#endif

void ck_attention_f32_ref(const float *q, int64_t q_stride, int64_t rows, const float *k, int64_t k_stride,
                          const float *v, int64_t v_stride, int64_t n_kv, int64_t d, float scale,
                          float *out, int64_t out_stride, float *scratch) {
    float *p = scratch; // n_kv floats suffice
    for (int64_t r = 0; r < rows; r++) {
        float best = -INFINITY;
        for (int64_t j = 0; j < n_kv; j++) {
            float dot = 0;
            for (int64_t c = 0; c < d; c++) dot += q[r * q_stride + c] * k[j * k_stride + c];
            p[j] = dot * scale;
            if (p[j] > best) best = p[j];
        }
        double sum = 0;
        for (int64_t j = 0; j < n_kv; j++) { p[j] = expf(p[j] - best); sum += p[j]; }
        for (int64_t c = 0; c < d; c++) {
            float acc = 0;
            for (int64_t j = 0; j < n_kv; j++) acc += p[j] * v[j * v_stride + c];
            out[r * out_stride + c] = acc * (float)(1.0 / sum);
        }
    }
}
