// Integer GEMM for prompt-sized batches: Q4_0/Q5_0/Q8_0 weights times Q8_0 activations, the
// same block sums as ck_mul_mat, laid out for many activation rows at once.
//
// ck_mul_mat's tiles keep one (row, activation) pair per register: every 64 multiply-adds cost
// a vpdpbusd, a conversion, a scale product and an FMA, as much work as SGEMM spends on the same
// products after converting the weights to floats. Here a 32-row strip of weights is repacked
// once into interleaved bytes (16 rows x 4 consecutive elements per register), so one vpdpbusd
// advances 16 rows of one activation by 4 elements, and the conversion, scale and FMA are paid
// once per 32-element block and 16 rows: 8 vpdpbusd per 3 other operations.
//
// vpdpbusd multiplies unsigned by signed bytes. The weights are made unsigned (Q4_0: the nibble
// 0..15, Q5_0: 0..31, Q8_0: w xor 0x80) and their bias β (8, 16, 128) is removed by seeding each
// block's integer sum with −β·Σa, which depends on the activation block only (ck_gemm_prepare).
// (On aarch64 sdot multiplies signed by signed bytes: the weights stay signed, no seed, and the
// integer sums are the same.)
// Integer sums are exact (|Σ| < 2^24, so also exact as floats); per (row, activation) the
// blocks are accumulated in order as acc = fma(d_w·d_a, Σ, acc), exactly as ck_gemm_ref does,
// so the vector kernel equals its scalar twin bit for bit.
#include "ck_internal.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

/// Bytes of one strip's packed blocks: per block, 32 rows x 32 bytes and 32 float scales.
#define STRIP_ROWS 32
#define STRIP_BLOCK_BYTES (STRIP_ROWS * 32 + STRIP_ROWS * 4)

static int gemm_bias(int type) {
    switch (type) {
    case CK_TYPE_Q4_0: return 8;
    case CK_TYPE_Q5_0: return 16;
    case CK_TYPE_Q8_0: return 128;
    default: return 0;
    }
}

size_t ck_gemm_side_row_bytes(int64_t n) { return (size_t)(n / 32) * 8; }

size_t ck_gemm_strip_bytes(int64_t n) { return (size_t)(n / 32) * STRIP_BLOCK_BYTES; }

void ck_gemm_prepare(int type, int64_t n, const void *act, size_t act_bytes, int64_t rows, void *side) {
    const int64_t nb = n / 32;
    const int32_t bias = gemm_bias(type);
    for (int64_t t = 0; t < rows; t++) {
        const block_q8_0 *y = (const block_q8_0 *)((const char *)act + (size_t)t * act_bytes);
        int32_t *seed = (int32_t *)((char *)side + (size_t)t * ck_gemm_side_row_bytes(n));
        float *d = (float *)(seed + nb);
        for (int64_t b = 0; b < nb; b++) {
            int32_t s = 0;
            for (int i = 0; i < 32; i++) s += y[b].qs[i];
            seed[b] = -bias * s;
            d[b] = CK_FP16(y[b].d);
        }
    }
}

/// Weight element e (0..31) of block x as the unsigned byte the kernel multiplies.
static inline int32_t unsigned_weight(int type, const char *x, int e) {
    switch (type) {
    case CK_TYPE_Q4_0: {
        const block_q4_0 *q = (const block_q4_0 *)x;
        return e < 16 ? (q->qs[e] & 0x0F) : (q->qs[e - 16] >> 4);
    }
    case CK_TYPE_Q5_0: {
        const block_q5_0 *q = (const block_q5_0 *)x;
        uint32_t qh;
        memcpy(&qh, q->qh, 4);
        const int nibble = e < 16 ? (q->qs[e] & 0x0F) : (q->qs[e - 16] >> 4);
        return nibble | (int)((qh >> e) & 1) << 4;
    }
    default: {
        const block_q8_0 *q = (const block_q8_0 *)x;
        return q->qs[e] + 128;
    }
    }
}

void ck_gemm_ref(int type, int64_t n, const void *w, size_t row_bytes, int64_t nrows, const void *act,
                 size_t act_bytes, const void *side, int64_t batch, float *out, int64_t out_stride) {
    const int64_t nb = n / 32;
    const size_t block_bytes = (size_t)ck_block_bytes(type);
    for (int64_t r = 0; r < nrows; r++) {
        const char *wr = (const char *)w + (size_t)r * row_bytes;
        for (int64_t t = 0; t < batch; t++) {
            const block_q8_0 *y = (const block_q8_0 *)((const char *)act + (size_t)t * act_bytes);
            const int32_t *seed = (const int32_t *)((const char *)side + (size_t)t * ck_gemm_side_row_bytes(n));
            const float *d = (const float *)(seed + nb);
            float acc = 0;
            for (int64_t b = 0; b < nb; b++) {
                const char *x = wr + (size_t)b * block_bytes;
                int32_t sum = seed[b];
                for (int e = 0; e < 32; e++) sum += unsigned_weight(type, x, e) * y[b].qs[e];
                const float dw = CK_FP16(*(const ck_half *)x); // every block starts with its fp16 scale
                acc = fmaf(dw * d[b], (float)sum, acc);
            }
            out[t * out_stride + r] = acc;
        }
    }
}

#if defined(__x86_64__)
#define GEMM_ZMM __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))

/// One block's 32 unsigned weight bytes, in element order.
GEMM_ZMM static inline __m256i unsigned_block(int type, const char *x) {
    if (type == CK_TYPE_Q8_0) {
        return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)((const block_q8_0 *)x)->qs), _mm256_set1_epi8((char)0x80));
    }
    const uint8_t *qs = type == CK_TYPE_Q4_0 ? ((const block_q4_0 *)x)->qs : ((const block_q5_0 *)x)->qs;
    const __m128i t = _mm_loadu_si128((const __m128i *)qs);
    __m256i v = _mm256_and_si256(_mm256_set1_epi8(0x0F), _mm256_inserti128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1));
    if (type == CK_TYPE_Q5_0) {
        uint32_t qh;
        memcpy(&qh, ((const block_q5_0 *)x)->qh, 4);
        v = _mm256_mask_add_epi8(v, (__mmask32)qh, v, _mm256_set1_epi8(16));
    }
    return v;
}

/// Packs rows [0, rows) of a strip (rows <= 32; missing rows are zero): per block, two 16-row
/// groups of 8 registers, register g holding elements 4g..4g+3 of each of the group's rows, then
/// the 32 scales as floats.
GEMM_ZMM static void pack_strip(int type, int64_t nb, const char *w, size_t row_bytes, int rows, uint8_t *strip) {
    const size_t block_bytes = (size_t)ck_block_bytes(type);
    if (rows < STRIP_ROWS) memset(strip, 0, (size_t)nb * STRIP_BLOCK_BYTES);
    for (int r = 0; r < rows; r++) {
        const char *x = w + (size_t)r * row_bytes;
        uint8_t *lane = strip + (r / 16) * 512 + (r % 16) * 4;
        float *scale = (float *)(strip + STRIP_ROWS * 32) + r;
        for (int64_t b = 0; b < nb; b++, x += block_bytes, lane += STRIP_BLOCK_BYTES, scale += STRIP_BLOCK_BYTES / 4) {
            const __m256i v = unsigned_block(type, x);
            // Element groups 4g..4g+3 are the 32-bit words of v: one per register, 64 bytes apart.
            uint32_t words[8];
            _mm256_storeu_si256((__m256i *)words, v);
            for (int g = 0; g < 8; g++) memcpy(lane + g * 64, &words[g], 4);
            *scale = CK_FP16(*(const ck_half *)x);
        }
    }
}

/// T activation rows (T <= 6) against one packed strip: out[j*out_stride + r] for r < rows.
GEMM_ZMM static inline __attribute__((always_inline)) void strip_tile(
    const int T, int64_t nb, const uint8_t *strip, const char *act, size_t act_bytes, const char *side,
    size_t side_bytes, float *out, int64_t out_stride, int rows) {
    __m512 acc[2][6];
    for (int j = 0; j < T; j++) { acc[0][j] = _mm512_setzero_ps(); acc[1][j] = _mm512_setzero_ps(); }
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *wb = strip + (size_t)b * STRIP_BLOCK_BYTES;
        const char *ab = act + (size_t)b * sizeof(block_q8_0) + offsetof(block_q8_0, qs);
        __m512i sum[2][6];
        for (int j = 0; j < T; j++) {
            const __m512i seed = _mm512_set1_epi32(((const int32_t *)(side + (size_t)j * side_bytes))[b]);
            sum[0][j] = seed;
            sum[1][j] = seed;
        }
        for (int g = 0; g < 8; g++) {
            const __m512i w0 = _mm512_load_si512((const void *)(wb + g * 64));
            const __m512i w1 = _mm512_load_si512((const void *)(wb + 512 + g * 64));
            for (int j = 0; j < T; j++) {
                int32_t four;
                memcpy(&four, ab + (size_t)j * act_bytes + g * 4, 4);
                const __m512i a = _mm512_set1_epi32(four);
                sum[0][j] = _mm512_dpbusd_epi32(sum[0][j], w0, a);
                sum[1][j] = _mm512_dpbusd_epi32(sum[1][j], w1, a);
            }
        }
        const float *dw = (const float *)(wb + STRIP_ROWS * 32);
        const __m512 d0 = _mm512_load_ps(dw), d1 = _mm512_load_ps(dw + 16);
        for (int j = 0; j < T; j++) {
            const float *seeds = (const float *)(side + (size_t)j * side_bytes);
            const __m512 da = _mm512_set1_ps(seeds[nb + b]);
            acc[0][j] = _mm512_fmadd_ps(_mm512_mul_ps(d0, da), _mm512_cvtepi32_ps(sum[0][j]), acc[0][j]);
            acc[1][j] = _mm512_fmadd_ps(_mm512_mul_ps(d1, da), _mm512_cvtepi32_ps(sum[1][j]), acc[1][j]);
        }
    }
    const __mmask16 m0 = rows >= 16 ? 0xFFFF : (__mmask16)((1u << rows) - 1);
    const __mmask16 m1 = rows >= 32 ? 0xFFFF : rows <= 16 ? 0 : (__mmask16)((1u << (rows - 16)) - 1);
    for (int j = 0; j < T; j++) {
        _mm512_mask_storeu_ps(out + j * out_stride, m0, acc[0][j]);
        _mm512_mask_storeu_ps(out + j * out_stride + 16, m1, acc[1][j]);
    }
}

GEMM_ZMM static void gemm_avx512vnni(int type, int64_t n, const void *w, size_t row_bytes, int64_t nrows,
                                     const void *act, size_t act_bytes, const void *side, int64_t batch,
                                     float *out, int64_t out_stride, void *scratch) {
    const int64_t nb = n / 32;
    const size_t side_bytes = ck_gemm_side_row_bytes(n);
    uint8_t *strip = scratch;
    for (int64_t r = 0; r < nrows; r += STRIP_ROWS) {
        const int rows = nrows - r < STRIP_ROWS ? (int)(nrows - r) : STRIP_ROWS;
        pack_strip(type, nb, (const char *)w + (size_t)r * row_bytes, row_bytes, rows, strip);
        int64_t t = 0;
        for (; t + 6 <= batch; t += 6) {
            strip_tile(6, nb, strip, (const char *)act + (size_t)t * act_bytes, act_bytes,
                       (const char *)side + (size_t)t * side_bytes, side_bytes, out + t * out_stride + r, out_stride, rows);
        }
        const char *a = (const char *)act + (size_t)t * act_bytes;
        const char *s = (const char *)side + (size_t)t * side_bytes;
        float *o = out + t * out_stride + r;
        switch (batch - t) {
        case 5: strip_tile(5, nb, strip, a, act_bytes, s, side_bytes, o, out_stride, rows); break;
        case 4: strip_tile(4, nb, strip, a, act_bytes, s, side_bytes, o, out_stride, rows); break;
        case 3: strip_tile(3, nb, strip, a, act_bytes, s, side_bytes, o, out_stride, rows); break;
        case 2: strip_tile(2, nb, strip, a, act_bytes, s, side_bytes, o, out_stride, rows); break;
        case 1: strip_tile(1, nb, strip, a, act_bytes, s, side_bytes, o, out_stride, rows); break;
        default: break;
        }
    }
}

void ck_gemm_fill_avx512vnni(ck_kernel_table *t) {
    t->gemm[CK_TYPE_Q4_0] = gemm_avx512vnni;
    t->gemm[CK_TYPE_Q5_0] = gemm_avx512vnni;
    t->gemm[CK_TYPE_Q8_0] = gemm_avx512vnni;
}
#endif

#if defined(__aarch64__)
#define GEMM_SDOT __attribute__((target("dotprod")))

/// One block's 32 signed weights (Q4_0: nibble − 8, Q5_0: 5-bit value − 16, Q8_0: as stored),
/// in element order, as two registers.
static inline void signed_block(int type, const char *x, int8x16_t *lo, int8x16_t *hi) {
    if (type == CK_TYPE_Q8_0) {
        *lo = vld1q_s8(((const block_q8_0 *)x)->qs);
        *hi = vld1q_s8(((const block_q8_0 *)x)->qs + 16);
        return;
    }
    const uint8x16_t v = vld1q_u8(type == CK_TYPE_Q4_0 ? ((const block_q4_0 *)x)->qs : ((const block_q5_0 *)x)->qs);
    uint8x16_t l = vandq_u8(v, vdupq_n_u8(0x0F)), h = vshrq_n_u8(v, 4);
    int8_t bias = 8;
    if (type == CK_TYPE_Q5_0) {
        uint32_t qh;
        memcpy(&qh, ((const block_q5_0 *)x)->qh, 4);
        uint8_t bits[32];
        for (int e = 0; e < 32; e++) bits[e] = (uint8_t)(((qh >> e) & 1) << 4);
        l = vorrq_u8(l, vld1q_u8(bits));
        h = vorrq_u8(h, vld1q_u8(bits + 16));
        bias = 16;
    }
    *lo = vsubq_s8(vreinterpretq_s8_u8(l), vdupq_n_s8(bias));
    *hi = vsubq_s8(vreinterpretq_s8_u8(h), vdupq_n_s8(bias));
}

/// Packs rows [0, rows) of a 32-row strip (missing rows zero): per block, 8 groups of 32 rows x
/// 4 signed bytes (register i of group g: rows 4i..4i+3), then the 32 scales as floats.
static void pack_strip_neon(int type, int64_t nb, const char *w, size_t row_bytes, int rows, uint8_t *strip) {
    const size_t block_bytes = (size_t)ck_block_bytes(type);
    if (rows < STRIP_ROWS) memset(strip, 0, (size_t)nb * STRIP_BLOCK_BYTES);
    for (int r = 0; r < rows; r++) {
        const char *x = w + (size_t)r * row_bytes;
        for (int64_t b = 0; b < nb; b++, x += block_bytes) {
            uint8_t *block = strip + (size_t)b * STRIP_BLOCK_BYTES;
            int8_t bytes[32];
            int8x16_t lo, hi;
            signed_block(type, x, &lo, &hi);
            vst1q_s8(bytes, lo);
            vst1q_s8(bytes + 16, hi);
            for (int g = 0; g < 8; g++) memcpy(block + g * 128 + r * 4, bytes + g * 4, 4);
            ((float *)(block + STRIP_ROWS * 32))[r] = CK_FP16(*(const ck_half *)x);
        }
    }
}

/// 8 rows (2 registers) x T activation rows (T <= 4) of a packed strip, starting at row `row`.
GEMM_SDOT static inline __attribute__((always_inline)) void strip_tile_sdot(
    const int T, int64_t nb, const uint8_t *strip, int row, const char *act, size_t act_bytes,
    const char *side, size_t side_bytes, float *out, int64_t out_stride, int rows) {
    float32x4_t acc[2][4];
    for (int j = 0; j < T; j++) { acc[0][j] = vdupq_n_f32(0); acc[1][j] = vdupq_n_f32(0); }
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *wb = strip + (size_t)b * STRIP_BLOCK_BYTES + row * 4;
        int8x16_t a[4][2];
        for (int j = 0; j < T; j++) {
            const block_q8_0 *y = (const block_q8_0 *)(act + (size_t)j * act_bytes) + b;
            a[j][0] = vld1q_s8(y->qs);
            a[j][1] = vld1q_s8(y->qs + 16);
        }
        int32x4_t sum[2][4];
        for (int j = 0; j < T; j++) { sum[0][j] = vdupq_n_s32(0); sum[1][j] = vdupq_n_s32(0); }
        // Group g multiplies elements 4g..4g+3: 4-byte lane g % 4 of activation register g / 4.
#define GEMM_GROUP(g) do { \
            const int8x16_t w0 = vld1q_s8((const int8_t *)(wb + (g) * 128)); \
            const int8x16_t w1 = vld1q_s8((const int8_t *)(wb + (g) * 128 + 16)); \
            for (int j = 0; j < T; j++) { \
                sum[0][j] = vdotq_laneq_s32(sum[0][j], w0, a[j][(g) / 4], (g) % 4); \
                sum[1][j] = vdotq_laneq_s32(sum[1][j], w1, a[j][(g) / 4], (g) % 4); \
            } \
        } while (0)
        GEMM_GROUP(0); GEMM_GROUP(1); GEMM_GROUP(2); GEMM_GROUP(3);
        GEMM_GROUP(4); GEMM_GROUP(5); GEMM_GROUP(6); GEMM_GROUP(7);
#undef GEMM_GROUP
        const float *dw = (const float *)(strip + (size_t)b * STRIP_BLOCK_BYTES + STRIP_ROWS * 32) + row;
        const float32x4_t d0 = vld1q_f32(dw), d1 = vld1q_f32(dw + 4);
        for (int j = 0; j < T; j++) {
            const float da = ((const float *)(side + (size_t)j * side_bytes))[nb + b];
            acc[0][j] = vfmaq_f32(acc[0][j], vmulq_n_f32(d0, da), vcvtq_f32_s32(sum[0][j]));
            acc[1][j] = vfmaq_f32(acc[1][j], vmulq_n_f32(d1, da), vcvtq_f32_s32(sum[1][j]));
        }
    }
    for (int j = 0; j < T; j++) {
        float lanes[8];
        vst1q_f32(lanes, acc[0][j]);
        vst1q_f32(lanes + 4, acc[1][j]);
        for (int i = 0; i < 8 && row + i < rows; i++) out[j * out_stride + row + i] = lanes[i];
    }
}

GEMM_SDOT static void gemm_sdot(int type, int64_t n, const void *w, size_t row_bytes, int64_t nrows, const void *act,
                                size_t act_bytes, const void *side, int64_t batch, float *out, int64_t out_stride,
                                void *scratch) {
    const int64_t nb = n / 32;
    const size_t side_bytes = ck_gemm_side_row_bytes(n);
    uint8_t *strip = scratch;
    for (int64_t r = 0; r < nrows; r += STRIP_ROWS) {
        const int rows = nrows - r < STRIP_ROWS ? (int)(nrows - r) : STRIP_ROWS;
        pack_strip_neon(type, nb, (const char *)w + (size_t)r * row_bytes, row_bytes, rows, strip);
        for (int row = 0; row < rows; row += 8) {
            for (int64_t t = 0; t < batch; t += 4) {
                const char *a = (const char *)act + (size_t)t * act_bytes;
                const char *s = (const char *)side + (size_t)t * side_bytes;
                float *o = out + t * out_stride + r;
                switch (batch - t < 4 ? batch - t : 4) {
                case 4: strip_tile_sdot(4, nb, strip, row, a, act_bytes, s, side_bytes, o, out_stride, rows); break;
                case 3: strip_tile_sdot(3, nb, strip, row, a, act_bytes, s, side_bytes, o, out_stride, rows); break;
                case 2: strip_tile_sdot(2, nb, strip, row, a, act_bytes, s, side_bytes, o, out_stride, rows); break;
                default: strip_tile_sdot(1, nb, strip, row, a, act_bytes, s, side_bytes, o, out_stride, rows); break;
                }
            }
        }
    }
}

void ck_gemm_fill_neon_dotprod(ck_kernel_table *t) {
    t->gemm[CK_TYPE_Q4_0] = gemm_sdot;
    t->gemm[CK_TYPE_Q5_0] = gemm_sdot;
    t->gemm[CK_TYPE_Q8_0] = gemm_sdot;
}
#endif
