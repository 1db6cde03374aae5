// aarch64 kernels: NEON (baseline ARMv8-A), and NEON + sdot (ARMv8.2 dotprod) compiled with a
// per-function target attribute and chosen at run time (HWCAP_ASIMDDP), so one binary serves
// both. Integer block sums are exact; results equal the scalar twins up to float order.
#include "ck_internal.h"
#if defined(__aarch64__)
#include <arm_neon.h>
#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

int ck_arm_has_dotprod(void) {
#if defined(__ARM_FEATURE_DOTPROD)
    return 1;
#elif defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#else
    return 0;
#endif
}

#define DOTPROD __attribute__((target("dotprod")))

/// 16 x int8 · int8 -> 4 x int32 (plain NEON: widening multiply, pairwise add).
static inline int32x4_t dot16_neon(int32x4_t acc, int8x16_t a, int8x16_t b) {
    int16x8_t p = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    p = vmlal_s8(p, vget_high_s8(a), vget_high_s8(b)); // |sum| ≤ 2·128·127, fits int16
    return vpadalq_s16(acc, p);
}

DOTPROD static inline int32x4_t dot16_sdot(int32x4_t acc, int8x16_t a, int8x16_t b) {
    return vdotq_s32(acc, a, b);
}

#define DEFINE_Q4_0(NAME, ATTR, DOT16) \
ATTR static float NAME(int64_t n, const void *vw, const void *va) { \
    const block_q4_0 *x = vw; const block_q8_0 *y = va; \
    const uint8x16_t m4 = vdupq_n_u8(0x0F); \
    const int8x16_t s8 = vdupq_n_s8(8); \
    float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0); \
    const int64_t nb = n / 32; \
    int64_t i = 0; \
    for (; i + 1 < nb; i += 2) { \
        const uint8x16_t v0 = vld1q_u8(x[i].qs), v1 = vld1q_u8(x[i + 1].qs); \
        const int8x16_t l0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v0, m4)), s8); \
        const int8x16_t h0 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v0, 4)), s8); \
        const int8x16_t l1 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v1, m4)), s8); \
        const int8x16_t h1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v1, 4)), s8); \
        int32x4_t p0 = DOT16(vdupq_n_s32(0), l0, vld1q_s8(y[i].qs)); \
        p0 = DOT16(p0, h0, vld1q_s8(y[i].qs + 16)); \
        int32x4_t p1 = DOT16(vdupq_n_s32(0), l1, vld1q_s8(y[i + 1].qs)); \
        p1 = DOT16(p1, h1, vld1q_s8(y[i + 1].qs + 16)); \
        acc0 = vmlaq_n_f32(acc0, vcvtq_f32_s32(p0), CK_FP16(x[i].d) * CK_FP16(y[i].d)); \
        acc1 = vmlaq_n_f32(acc1, vcvtq_f32_s32(p1), CK_FP16(x[i + 1].d) * CK_FP16(y[i + 1].d)); \
    } \
    for (; i < nb; i++) { \
        const uint8x16_t v0 = vld1q_u8(x[i].qs); \
        const int8x16_t l0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v0, m4)), s8); \
        const int8x16_t h0 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v0, 4)), s8); \
        int32x4_t p0 = DOT16(vdupq_n_s32(0), l0, vld1q_s8(y[i].qs)); \
        p0 = DOT16(p0, h0, vld1q_s8(y[i].qs + 16)); \
        acc0 = vmlaq_n_f32(acc0, vcvtq_f32_s32(p0), CK_FP16(x[i].d) * CK_FP16(y[i].d)); \
    } \
    return vaddvq_f32(vaddq_f32(acc0, acc1)); \
}

#define DEFINE_Q8_0(NAME, ATTR, DOT16) \
ATTR static float NAME(int64_t n, const void *vw, const void *va) { \
    const block_q8_0 *x = vw; const block_q8_0 *y = va; \
    float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0); \
    const int64_t nb = n / 32; \
    int64_t i = 0; \
    for (; i + 1 < nb; i += 2) { \
        int32x4_t p0 = DOT16(vdupq_n_s32(0), vld1q_s8(x[i].qs), vld1q_s8(y[i].qs)); \
        p0 = DOT16(p0, vld1q_s8(x[i].qs + 16), vld1q_s8(y[i].qs + 16)); \
        int32x4_t p1 = DOT16(vdupq_n_s32(0), vld1q_s8(x[i + 1].qs), vld1q_s8(y[i + 1].qs)); \
        p1 = DOT16(p1, vld1q_s8(x[i + 1].qs + 16), vld1q_s8(y[i + 1].qs + 16)); \
        acc0 = vmlaq_n_f32(acc0, vcvtq_f32_s32(p0), CK_FP16(x[i].d) * CK_FP16(y[i].d)); \
        acc1 = vmlaq_n_f32(acc1, vcvtq_f32_s32(p1), CK_FP16(x[i + 1].d) * CK_FP16(y[i + 1].d)); \
    } \
    for (; i < nb; i++) { \
        int32x4_t p0 = DOT16(vdupq_n_s32(0), vld1q_s8(x[i].qs), vld1q_s8(y[i].qs)); \
        p0 = DOT16(p0, vld1q_s8(x[i].qs + 16), vld1q_s8(y[i].qs + 16)); \
        acc0 = vmlaq_n_f32(acc0, vcvtq_f32_s32(p0), CK_FP16(x[i].d) * CK_FP16(y[i].d)); \
    } \
    return vaddvq_f32(vaddq_f32(acc0, acc1)); \
}

#define DEFINE_Q4_K(NAME, ATTR, DOT16) \
ATTR static float NAME(int64_t n, const void *vw, const void *va) { \
    const block_q4_K *x = vw; const block_q8_K *y = va; \
    const uint8x16_t m4 = vdupq_n_u8(0x0F); \
    float sumf = 0; \
    for (int64_t i = 0; i < n / QK_K; i++) { \
        uint8_t sc[8], mn[8]; \
        for (int j = 0; j < 8; j++) ck_scale_min_k4(j, x[i].scales, &sc[j], &mn[j]); \
        int summ = 0; \
        for (int j = 0; j < 8; j++) summ += mn[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]); \
        const uint8_t *q4 = x[i].qs; const int8_t *q8 = y[i].qs; \
        int32_t isum = 0; \
        for (int jp = 0; jp < 4; jp++) { \
            const uint8x16_t b0 = vld1q_u8(q4 + 32 * jp), b1 = vld1q_u8(q4 + 32 * jp + 16); \
            int32x4_t lo = DOT16(vdupq_n_s32(0), vreinterpretq_s8_u8(vandq_u8(b0, m4)), vld1q_s8(q8 + 64 * jp)); \
            lo = DOT16(lo, vreinterpretq_s8_u8(vandq_u8(b1, m4)), vld1q_s8(q8 + 64 * jp + 16)); \
            int32x4_t hi = DOT16(vdupq_n_s32(0), vreinterpretq_s8_u8(vshrq_n_u8(b0, 4)), vld1q_s8(q8 + 64 * jp + 32)); \
            hi = DOT16(hi, vreinterpretq_s8_u8(vshrq_n_u8(b1, 4)), vld1q_s8(q8 + 64 * jp + 48)); \
            isum += vaddvq_s32(lo) * sc[2 * jp] + vaddvq_s32(hi) * sc[2 * jp + 1]; \
        } \
        sumf += CK_FP16(x[i].d) * y[i].d * isum - CK_FP16(x[i].dmin) * y[i].d * summ; \
    } \
    return sumf; \
}

#define DEFINE_Q6_K(NAME, ATTR, DOT16) \
ATTR static float NAME(int64_t n, const void *vw, const void *va) { \
    const block_q6_K *x = vw; const block_q8_K *y = va; \
    const uint8x16_t m4 = vdupq_n_u8(0x0F), m3 = vdupq_n_u8(3); \
    const int8x16_t s32 = vdupq_n_s8(32); \
    float sumf = 0; \
    for (int64_t i = 0; i < n / QK_K; i++) { \
        const uint8_t *ql = x[i].ql, *qh = x[i].qh; const int8_t *q8 = y[i].qs; \
        const int8_t *sc = x[i].scales; \
        int32_t isum = 0; \
        for (int half = 0; half < 2; half++) { \
            for (int part = 0; part < 2; part++) { /* elements l = 16·part .. 16·part+15 */ \
                const uint8x16_t a = vld1q_u8(ql + 16 * part), b = vld1q_u8(ql + 32 + 16 * part); \
                const uint8x16_t h = vld1q_u8(qh + 16 * part); \
                int8x16_t q[4]; \
                q[0] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(a, m4), vshlq_n_u8(vandq_u8(h, m3), 4))), s32); \
                q[1] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(b, m4), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 2), m3), 4))), s32); \
                q[2] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(a, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(h, 4), m3), 4))), s32); \
                q[3] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(b, 4), vshlq_n_u8(vshrq_n_u8(h, 6), 4))), s32); \
                for (int k = 0; k < 4; k++) { \
                    const int32x4_t p = DOT16(vdupq_n_s32(0), q[k], vld1q_s8(q8 + 32 * k + 16 * part)); \
                    isum += vaddvq_s32(p) * sc[2 * k + part]; \
                } \
            } \
            ql += 64; qh += 32; q8 += 128; sc += 8; \
        } \
        sumf += CK_FP16(x[i].d) * y[i].d * isum; \
    } \
    return sumf; \
}

/// Q5_0: the 5th bit of element j is bit j of qh; spread to bytes with vtst against 1,2,4,…,128.
#define DEFINE_Q5_0(NAME, ATTR, DOT16) \
ATTR static float NAME(int64_t n, const void *vw, const void *va) { \
    const block_q5_0 *x = vw; const block_q8_0 *y = va; \
    const uint8x16_t m4 = vdupq_n_u8(0x0F), h16 = vdupq_n_u8(0x10); \
    const int8x16_t s16 = vdupq_n_s8(16); \
    static const uint8_t bits[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128}; \
    const uint8x16_t bitmask = vld1q_u8(bits); \
    float32x4_t acc = vdupq_n_f32(0); \
    for (int64_t i = 0; i < n / 32; i++) { \
        const uint8x16_t hlo = vcombine_u8(vdup_n_u8(x[i].qh[0]), vdup_n_u8(x[i].qh[1])); \
        const uint8x16_t hhi = vcombine_u8(vdup_n_u8(x[i].qh[2]), vdup_n_u8(x[i].qh[3])); \
        const uint8x16_t v = vld1q_u8(x[i].qs); \
        const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(v, m4), vandq_u8(vtstq_u8(hlo, bitmask), h16))), s16); \
        const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(v, 4), vandq_u8(vtstq_u8(hhi, bitmask), h16))), s16); \
        int32x4_t p = DOT16(vdupq_n_s32(0), lo, vld1q_s8(y[i].qs)); \
        p = DOT16(p, hi, vld1q_s8(y[i].qs + 16)); \
        acc = vmlaq_n_f32(acc, vcvtq_f32_s32(p), CK_FP16(x[i].d) * CK_FP16(y[i].d)); \
    } \
    return vaddvq_f32(acc); \
}

DEFINE_Q5_0(dot_q5_0_neon, , dot16_neon)
DEFINE_Q5_0(dot_q5_0_sdot, DOTPROD, dot16_sdot)
DEFINE_Q4_0(dot_q4_0_neon, , dot16_neon)
DEFINE_Q4_0(dot_q4_0_sdot, DOTPROD, dot16_sdot)
DEFINE_Q8_0(dot_q8_0_neon, , dot16_neon)
DEFINE_Q8_0(dot_q8_0_sdot, DOTPROD, dot16_sdot)
DEFINE_Q4_K(dot_q4_K_neon, , dot16_neon)
DEFINE_Q4_K(dot_q4_K_sdot, DOTPROD, dot16_sdot)
DEFINE_Q6_K(dot_q6_K_neon, , dot16_neon)
DEFINE_Q6_K(dot_q6_K_sdot, DOTPROD, dot16_sdot)

static float dot_f32_neon(int64_t n, const void *vw, const void *va) {
    const float *w = vw, *a = va;
    float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0), s2 = vdupq_n_f32(0), s3 = vdupq_n_f32(0);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, vld1q_f32(w + i), vld1q_f32(a + i));
        s1 = vfmaq_f32(s1, vld1q_f32(w + i + 4), vld1q_f32(a + i + 4));
        s2 = vfmaq_f32(s2, vld1q_f32(w + i + 8), vld1q_f32(a + i + 8));
        s3 = vfmaq_f32(s3, vld1q_f32(w + i + 12), vld1q_f32(a + i + 12));
    }
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++) sum += w[i] * a[i];
    return sum;
}

static inline float32x4_t load_f16x4(const uint16_t *p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

/// F16 weights · widened fp16-rounded activations (prep_f16).
static float dot_f16_neon(int64_t n, const void *vw, const void *va) {
    const uint16_t *w = vw;
    const float *a = va;
    float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0), s2 = vdupq_n_f32(0), s3 = vdupq_n_f32(0);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, load_f16x4(w + i), vld1q_f32(a + i));
        s1 = vfmaq_f32(s1, load_f16x4(w + i + 4), vld1q_f32(a + i + 4));
        s2 = vfmaq_f32(s2, load_f16x4(w + i + 8), vld1q_f32(a + i + 8));
        s3 = vfmaq_f32(s3, load_f16x4(w + i + 12), vld1q_f32(a + i + 12));
    }
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++) sum += CK_FP16(w[i]) * a[i];
    return sum;
}

/// ggml's NEON quantize_row_q8_0: round to nearest, ties to even (vcvtnq).
static void prep_q8_0_neon(const float *x, void *vy, int64_t n) {
    block_q8_0 *y = vy;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float32x4_t v[8], amax = vdupq_n_f32(0);
        for (int j = 0; j < 8; j++) {
            v[j] = vld1q_f32(x + 4 * j);
            amax = vmaxq_f32(amax, vabsq_f32(v[j]));
        }
        const float m = vmaxvq_f32(amax);
        y[i].d = ck_fp32_to_fp16_bits(m / 127.0f);
        const float id = m != 0.0f ? 127.0f / m : 0.0f;
        for (int j = 0; j < 8; j++) {
            const int32x4_t q = vcvtnq_s32_f32(vmulq_n_f32(v[j], id));
            y[i].qs[4 * j + 0] = (int8_t)vgetq_lane_s32(q, 0);
            y[i].qs[4 * j + 1] = (int8_t)vgetq_lane_s32(q, 1);
            y[i].qs[4 * j + 2] = (int8_t)vgetq_lane_s32(q, 2);
            y[i].qs[4 * j + 3] = (int8_t)vgetq_lane_s32(q, 3);
        }
    }
}

static void fp16_to_fp32_neon(const void *vx, float *y, int64_t n) {
    const uint16_t *x = vx;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, load_f16x4(x + i));
    for (; i < n; i++) y[i] = CK_FP16(x[i]);
}

// ---------------------------------------------------------------- dequantization (SGEMM route)

/// Sixteen int8 times d, stored at y (float(q)·d, one rounding, as the scalar twin).
static inline void store_i8x16_scaled(float *y, int8x16_t v, float32x4_t d) {
    const int16x8_t lo = vmovl_s8(vget_low_s8(v)), hi = vmovl_s8(vget_high_s8(v));
    vst1q_f32(y, vmulq_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo))), d));
    vst1q_f32(y + 4, vmulq_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(lo))), d));
    vst1q_f32(y + 8, vmulq_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi))), d));
    vst1q_f32(y + 12, vmulq_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(hi))), d));
}

static void dequantize_q4_0_neon(const void *vx, float *y, int64_t n) {
    const block_q4_0 *x = vx;
    const uint8x16_t low4 = vdupq_n_u8(0x0F);
    const int8x16_t eight = vdupq_n_s8(8);
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const float32x4_t d = vdupq_n_f32(CK_FP16(x[i].d));
        const uint8x16_t q = vld1q_u8(x[i].qs);
        store_i8x16_scaled(y, vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, low4)), eight), d);
        store_i8x16_scaled(y + 16, vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), eight), d);
    }
}

static void dequantize_q8_0_neon(const void *vx, float *y, int64_t n) {
    const block_q8_0 *x = vx;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const float32x4_t d = vdupq_n_f32(CK_FP16(x[i].d));
        store_i8x16_scaled(y, vld1q_s8(x[i].qs), d);
        store_i8x16_scaled(y + 16, vld1q_s8(x[i].qs + 16), d);
    }
}

// ---------------------------------------------------------------- register-tiled products

// Q4_0/Q8_0 weights times Q8_0 activations in RM x RN register tiles (see ck_x86.c for why).
// One accumulator per (row, activation) pair, updated in block order and reduced once: a
// result is the same whatever tile, batch size or thread split produced it.

#define TILE_LOAD_Q4_0(x, lo, hi) do { \
    const uint8x16_t v_ = vld1q_u8((x)->qs); \
    lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v_, vdupq_n_u8(0x0F))), vdupq_n_s8(8)); \
    hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v_, 4)), vdupq_n_s8(8)); \
} while (0)
#define TILE_LOAD_Q8_0(x, lo, hi) do { lo = vld1q_s8((x)->qs); hi = vld1q_s8((x)->qs + 16); } while (0)

#define DEFINE_TILE(NAME, ATTR, BLOCK, LOAD, DOT16, RM, RN) \
ATTR static void NAME(int64_t nb, const char *w, size_t row_bytes, const char *a, size_t act_bytes, \
                      float *out, int64_t out_stride, ptrdiff_t pf) { \
    (void)pf; \
    float32x4_t acc[RM][RN]; \
    for (int i = 0; i < RM; i++) for (int j = 0; j < RN; j++) acc[i][j] = vdupq_n_f32(0); \
    for (int64_t k = 0; k < nb; k++) { \
        int8x16_t alo[RN], ahi[RN]; float ad[RN]; \
        for (int j = 0; j < RN; j++) { \
            const block_q8_0 *y = (const block_q8_0 *)(a + (size_t)j * act_bytes) + k; \
            alo[j] = vld1q_s8(y->qs); ahi[j] = vld1q_s8(y->qs + 16); ad[j] = CK_FP16(y->d); \
        } \
        for (int i = 0; i < RM; i++) { \
            const BLOCK *x = (const BLOCK *)(w + (size_t)i * row_bytes) + k; \
            int8x16_t wlo, whi; \
            LOAD(x, wlo, whi); \
            const float dw = CK_FP16(x->d); \
            for (int j = 0; j < RN; j++) { \
                int32x4_t p = DOT16(vdupq_n_s32(0), wlo, alo[j]); \
                p = DOT16(p, whi, ahi[j]); \
                acc[i][j] = vmlaq_n_f32(acc[i][j], vcvtq_f32_s32(p), dw * ad[j]); \
            } \
        } \
    } \
    for (int i = 0; i < RM; i++) for (int j = 0; j < RN; j++) out[j * out_stride + i] = vaddvq_f32(acc[i][j]); \
}

#define DEFINE_TILED_MUL_MAT(NAME, ATTR, BLOCK, LOAD, DOT16) \
CK_DEFINE_TILES(DEFINE_TILE, NAME, ATTR, BLOCK, LOAD, DOT16) \
CK_DEFINE_TILED_DRIVER(NAME, 0) /* prefetch not yet measured on an ARM device */

#define NO_ATTR
DEFINE_TILED_MUL_MAT(mul_mat_q4_0_neon, NO_ATTR, block_q4_0, TILE_LOAD_Q4_0, dot16_neon)
DEFINE_TILED_MUL_MAT(mul_mat_q8_0_neon, NO_ATTR, block_q8_0, TILE_LOAD_Q8_0, dot16_neon)
DEFINE_TILED_MUL_MAT(mul_mat_q4_0_sdot, DOTPROD, block_q4_0, TILE_LOAD_Q4_0, dot16_sdot)
DEFINE_TILED_MUL_MAT(mul_mat_q8_0_sdot, DOTPROD, block_q8_0, TILE_LOAD_Q8_0, dot16_sdot)

void ck_fill_neon(ck_kernel_table *t) {
    t->fp16_to_fp32 = fp16_to_fp32_neon;
    t->dot[CK_TYPE_F32] = dot_f32_neon;
    t->dot[CK_TYPE_F16] = dot_f16_neon;
    t->dot[CK_TYPE_Q4_0] = dot_q4_0_neon;
    t->dot[CK_TYPE_Q5_0] = dot_q5_0_neon;
    t->dot[CK_TYPE_Q8_0] = dot_q8_0_neon;
    t->dot[CK_TYPE_Q4_K] = dot_q4_K_neon;
    t->dot[CK_TYPE_Q6_K] = dot_q6_K_neon;
    t->prep[CK_TYPE_Q8_0] = prep_q8_0_neon;
    t->mul_mat[CK_TYPE_Q4_0] = mul_mat_q4_0_neon;
    t->mul_mat[CK_TYPE_Q8_0] = mul_mat_q8_0_neon;
    t->dequantize[CK_TYPE_Q4_0] = dequantize_q4_0_neon;
    t->dequantize[CK_TYPE_Q8_0] = dequantize_q8_0_neon;
}

void ck_fill_neon_dotprod(ck_kernel_table *t) {
    t->dot[CK_TYPE_Q4_0] = dot_q4_0_sdot;
    t->dot[CK_TYPE_Q5_0] = dot_q5_0_sdot;
    t->dot[CK_TYPE_Q8_0] = dot_q8_0_sdot;
    t->dot[CK_TYPE_Q4_K] = dot_q4_K_sdot;
    t->dot[CK_TYPE_Q6_K] = dot_q6_K_sdot;
    t->mul_mat[CK_TYPE_Q4_0] = mul_mat_q4_0_sdot;
    t->mul_mat[CK_TYPE_Q8_0] = mul_mat_q8_0_sdot;
    ck_gemm_fill_neon_dotprod(t);
}
#endif
