// Internal declarations of CKernels: ggml block layouts, conversions, per-ISA kernel tables.
#pragma once
#include "include/ckernels.h"
#include <string.h>
#include <math.h>

#define QK4_0 32
#define QK8_0 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef uint16_t ck_half;

typedef struct { ck_half d; uint8_t qs[QK4_0 / 2]; } block_q4_0;
typedef struct { ck_half d; ck_half m; uint8_t qs[QK4_0 / 2]; } block_q4_1;
typedef struct { ck_half d; uint8_t qh[4]; uint8_t qs[QK4_0 / 2]; } block_q5_0;
typedef struct { ck_half d; ck_half m; uint8_t qh[4]; uint8_t qs[QK4_0 / 2]; } block_q5_1;
typedef struct { ck_half d; int8_t qs[QK8_0]; } block_q8_0;
typedef struct { ck_half d; ck_half s; int8_t qs[QK8_0]; } block_q8_1;
typedef struct { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; ck_half d; ck_half dmin; } block_q2_K;
typedef struct { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; ck_half d; } block_q3_K;
typedef struct { ck_half d; ck_half dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; } block_q4_K;
typedef struct { ck_half d; ck_half dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; } block_q5_K;
typedef struct { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; ck_half d; } block_q6_K;
typedef struct { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; } block_q8_K;

_Static_assert(sizeof(block_q4_0) == 18, "q4_0");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0");
_Static_assert(sizeof(block_q5_1) == 24, "q5_1");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0");
_Static_assert(sizeof(block_q8_1) == 36, "q8_1");
_Static_assert(sizeof(block_q2_K) == 84, "q2_K");
_Static_assert(sizeof(block_q3_K) == 110, "q3_K");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K");
_Static_assert(sizeof(block_q5_K) == 176, "q5_K");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K");

/// fp16 -> fp32 lookup (filled by ck_tables_init); avoids vpinsrw chains in hot loops.
extern float ck_fp16_table[65536];
void ck_tables_init(void);
/// Runs the one-time initialisation (tables, CPU detection) if it has not run yet.
void ck_ensure_init(void);
#define CK_FP16(h) (ck_fp16_table[(h)])
/// ggml's GELU table: fp16(gelu_tanh(x)) as float for every fp16 bit pattern x.
extern float ck_gelu_table[65536];

float ck_fp16_to_fp32_bits(uint16_t h);
uint16_t ck_fp32_to_fp16_bits(float f);

/// Unpacks the 6-bit scale and min j (0..7) of a Q4_K/Q5_K block.
static inline void ck_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
    }
}

/// Unpacks the 16 6-bit signed scales (stored +32) of a Q3_K block.
static inline void ck_q3k_scales(const uint8_t *src, int8_t out[16]) {
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    uint32_t aux[4];
    memcpy(aux, src, 12);
    uint32_t tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    memcpy(out, aux, 16);
}

typedef float (*ck_dot_fn)(int64_t n, const void *w, const void *a);
typedef void (*ck_prep_fn)(const float *x, void *y, int64_t n);

/// One entry per ggml type code below 31; NULL where the level has no specialised kernel.
typedef void (*ck_convert_fn)(const void *x, float *y, int64_t n);

/// A whole `nrows × batch` product (same arguments as ck_mul_mat) with register tiles.
typedef void (*ck_mul_mat_fn)(int64_t n, const void *w, size_t row_bytes, int64_t nrows,
                              const void *act, size_t act_bytes, int64_t batch, float *out, int64_t out_stride);

/// ck_gemm's kernel: the product of ck_mul_mat for prompt-sized batches (ck_gemm.c).
typedef void (*ck_gemm_fn)(int type, int64_t n, const void *w, size_t row_bytes, int64_t nrows, const void *act,
                           size_t act_bytes, const void *side, int64_t batch, float *out, int64_t out_stride,
                           void *scratch);

typedef void (*ck_attention_fn)(const float *q, int64_t q_stride, int64_t rows, const float *k,
                                int64_t k_stride, const float *v, int64_t v_stride, int64_t n_kv, int64_t d,
                                float scale, float *out, int64_t out_stride, float *scratch);

typedef struct {
    ck_dot_fn dot[31];
    /// y = exp(x - shift) for softmax rows, returning the sum (ck_exp.c).
    double (*exp_shifted)(float *y, const float *x, int64_t n, float shift);
    /// y = silu(g)·u on the same exponential (ck_exp.c).
    void (*swiglu)(float *y, const float *g, const float *u, int64_t n);
    /// ggml's table GELU (ck_gelu_fp16_table).
    void (*gelu_fp16)(const float *x, float *y, int64_t n);
    /// y = x·scale (+ mask) returning max(y) (ck_exp.c).
    float (*scale_max)(float *y, const float *x, const float *mask, int64_t n, float scale);
    /// Fused single-head attention (ck_attention.c).
    ck_attention_fn attention_f32;
    /// out[r] = Σ a·b[r] over n (a multiple of the level's lanes) in llama.cpp's order at this
    /// level (llamafile's tinyBLAS on fp16 operands: one FMA lane per element index mod the
    /// vector width, then its horizontal sum); NULL: no such order at this level.
    void (*dot_rows_ggml)(const float *a, const float *b, int64_t b_stride, int64_t rows, int64_t n, float *out);
    /// Lanes of dot_rows_ggml (16 AVX-512, 8 AVX2; 0: none).
    int dot_rows_ggml_lanes;
    /// y = exp(x − max) with ggml's exponential, returning the sum in ggml_vec_soft_max_f32's
    /// order (ck_exp.c); n a multiple of dot_rows_ggml_lanes. NULL with dot_rows_ggml.
    double (*softmax_exp_ggml)(float *y, const float *x, int64_t n, float max);
    /// As dot_rows_ggml in ggml_vec_dot_f16's order (one-column products: decoding); n a
    /// multiple of vec_dot_rows_ggml_step.
    void (*vec_dot_rows_ggml)(const float *a, const float *b, int64_t b_stride, int64_t rows, int64_t n, float *out);
    int vec_dot_rows_ggml_step;
    /// Small-batch products in ggml's decode order where it differs from the tiles' (Q4_0:
    /// whole-block integer sums, as its repacked gemv); NULL: the tiles are ggml's order.
    ck_mul_mat_fn gemv_ggml[31];
    /// Register-tiled products; NULL: ck_mul_mat loops over `dot`.
    ck_mul_mat_fn mul_mat[31];
    /// Strip-packed integer GEMM for large batches (ck_gemm); NULL: not at this level.
    ck_gemm_fn gemm[31];
    ck_convert_fn fp16_to_fp32; // NULL: scalar table
    /// Weight rows to floats for the SGEMM route (ck_dequantize_row); NULL: scalar twin. Each
    /// value is the same single float product as in the twin, so the results are identical.
    ck_convert_fn dequantize[31];
    ck_prep_fn prep[16]; // indexed by activation type code (F32 unused)
} ck_kernel_table;

/// One register tile: RM weight rows x RN activation rows over `nb` blocks, written to
/// out[j*out_stride + i]. Defined per ISA as NAME_<RM>x<RN> for RM 1..4, RN 1..3. `pf` > 0:
/// prefetch the weight bytes `pf` ahead of each block read (ck_tile_prefetch_distance).
typedef void (*ck_tile_fn)(int64_t nb, const char *w, size_t row_bytes, const char *a, size_t act_bytes,
                           float *out, int64_t out_stride, ptrdiff_t pf);

/// How far ahead a batch-1..3 tile prefetches its weights: whole 4-row strips, at least 3 KiB.
/// A strip reads its four rows side by side, four streams inside one or two pages, which the
/// hardware prefetcher follows late: from DRAM a Q8_0 mat-vec of 896-wide rows ran at 6.2 GB/s
/// without this and 10.5 GB/s with it (single-thread read bandwidth 11.6 GB/s; BENCHMARKS.md,
/// Kernels). Prefetches never fault, so running past the matrix end is harmless.
static inline ptrdiff_t ck_tile_prefetch_distance(size_t row_bytes) {
    const size_t strip = 4 * row_bytes;
    return (ptrdiff_t)(((3072 + strip - 1) / strip) * strip);
}

/// A ck_mul_mat_fn named NAME that covers the product with the twelve tiles NAME_1x1..NAME_4x3
/// (4x3 in the interior, smaller tiles on the edges). Blocks are 32 elements.
#define CK_DEFINE_TILED_DRIVER(NAME, PREFETCH) \
static void NAME(int64_t n, const void *w, size_t row_bytes, int64_t nrows, const void *act, size_t act_bytes, \
                 int64_t batch, float *out, int64_t out_stride) { \
    static const ck_tile_fn tiles[4][3] = { \
        {NAME##_1x1, NAME##_1x2, NAME##_1x3}, {NAME##_2x1, NAME##_2x2, NAME##_2x3}, \
        {NAME##_3x1, NAME##_3x2, NAME##_3x3}, {NAME##_4x1, NAME##_4x2, NAME##_4x3}}; \
    const int64_t nb = n / 32; \
    const ptrdiff_t pf = (PREFETCH) && batch <= 3 ? ck_tile_prefetch_distance(row_bytes) : 0; \
    for (int64_t r = 0; r < nrows; r += 4) { \
        const int64_t rm = nrows - r < 4 ? nrows - r : 4; \
        const char *wr = (const char *)w + (size_t)r * row_bytes; \
        for (int64_t b = 0; b < batch; b += 3) { \
            const int64_t rn = batch - b < 3 ? batch - b : 3; \
            tiles[rm - 1][rn - 1](nb, wr, row_bytes, (const char *)act + (size_t)b * act_bytes, act_bytes, \
                                  out + b * out_stride + r, out_stride, pf); \
        } \
    } \
}

/// The twelve tiles of DEFINE_TILE(NAME_RMxRN, ..., RM, RN) for one kernel family.
#define CK_DEFINE_TILES(DEFINE_TILE, NAME, ...) \
DEFINE_TILE(NAME##_1x1, __VA_ARGS__, 1, 1) DEFINE_TILE(NAME##_1x2, __VA_ARGS__, 1, 2) \
DEFINE_TILE(NAME##_1x3, __VA_ARGS__, 1, 3) DEFINE_TILE(NAME##_2x1, __VA_ARGS__, 2, 1) \
DEFINE_TILE(NAME##_2x2, __VA_ARGS__, 2, 2) DEFINE_TILE(NAME##_2x3, __VA_ARGS__, 2, 3) \
DEFINE_TILE(NAME##_3x1, __VA_ARGS__, 3, 1) DEFINE_TILE(NAME##_3x2, __VA_ARGS__, 3, 2) \
DEFINE_TILE(NAME##_3x3, __VA_ARGS__, 3, 3) DEFINE_TILE(NAME##_4x1, __VA_ARGS__, 4, 1) \
DEFINE_TILE(NAME##_4x2, __VA_ARGS__, 4, 2) DEFINE_TILE(NAME##_4x3, __VA_ARGS__, 4, 3)

void ck_fill_scalar(ck_kernel_table *t);
double ck_exp_shifted_generic(float *y, const float *x, int64_t n, float shift);
void ck_swiglu_generic(float *y, const float *g, const float *u, int64_t n);
float ck_scale_max_generic(float *y, const float *x, const float *mask, int64_t n, float scale);
void ck_attention_f32_generic(const float *q, int64_t q_stride, int64_t rows, const float *k, int64_t k_stride,
                              const float *v, int64_t v_stride, int64_t n_kv, int64_t d, float scale,
                              float *out, int64_t out_stride, float *scratch);
#if defined(__x86_64__)
double ck_exp_shifted_avx2(float *y, const float *x, int64_t n, float shift);
double ck_exp_shifted_avx512(float *y, const float *x, int64_t n, float shift);
void ck_swiglu_avx2(float *y, const float *g, const float *u, int64_t n);
void ck_swiglu_avx512(float *y, const float *g, const float *u, int64_t n);
double ck_softmax_exp_ggml_avx2(float *y, const float *x, int64_t n, float max);
double ck_softmax_exp_ggml_avx512(float *y, const float *x, int64_t n, float max);
float ck_scale_max_avx2(float *y, const float *x, const float *mask, int64_t n, float scale);
void ck_attention_f32_avx2(const float *q, int64_t q_stride, int64_t rows, const float *k, int64_t k_stride,
                           const float *v, int64_t v_stride, int64_t n_kv, int64_t d, float scale,
                           float *out, int64_t out_stride, float *scratch);
void ck_attention_f32_avx512(const float *q, int64_t q_stride, int64_t rows, const float *k, int64_t k_stride,
                             const float *v, int64_t v_stride, int64_t n_kv, int64_t d, float scale,
                             float *out, int64_t out_stride, float *scratch);
#endif
/// The fp16 -> fp32 row conversion of the level in use.
ck_convert_fn ck_current_fp16_to_fp32(void);
#if defined(__x86_64__)
void ck_fill_avx2(ck_kernel_table *t);
void ck_fill_avx512vnni(ck_kernel_table *t);
void ck_gemm_fill_avx512vnni(ck_kernel_table *t);
int ck_x86_has_avx2(void);
int ck_x86_has_avx512vnni(void);
#endif
#if defined(__aarch64__)
void ck_fill_neon(ck_kernel_table *t);
void ck_fill_neon_dotprod(ck_kernel_table *t);
void ck_gemm_fill_neon_dotprod(ck_kernel_table *t);
int ck_arm_has_dotprod(void);
#endif
