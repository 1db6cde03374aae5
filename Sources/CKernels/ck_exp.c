// Softmax row passes: y[i] = x[i]·scale + mask[i] with the row maximum (ck_scale_max), and
// y[i] = exp(x[i] - shift) returning the sum in double (ck_exp_shifted).
// One implementation written with the compiler's generic vectors (8 floats), compiled for the
// baseline (SSE2 / NEON) and, on x86-64, again for AVX2+FMA. Cephes-style: n = round(x·log2 e),
// r = x − n·ln 2 in two parts, a degree-6 polynomial, then 2^n through the exponent bits;
// within 2 ulp of expf over the softmax range, and exactly 0 below −87.3 (masked scores).
#include "ck_internal.h"

// The 8-float vectors never cross a non-inlined call (vexp is always inlined), so the ABI
// note about passing them without AVX does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

#define DEFINE_EXP_SHIFTED_W(NAME, ATTR, VF, VI, W) \
ATTR __attribute__((always_inline)) static inline VF NAME##_vexp(VF x) { \
    const VF hi = __builtin_elementwise_max(__builtin_elementwise_min(x, (VF){0} + 88.3762626647949f), \
                                             (VF){0} - 88.0f); \
    const VI under = x < -87.3365447504f; \
    VF t = hi * 1.44269504088896341f + 12582912.0f; /* round to nearest via the 1.5·2^23 trick */ \
    const VF n = t - 12582912.0f; \
    VI bits; memcpy(&bits, &t, sizeof bits); \
    const VI k = bits - 0x4B400000; \
    VF r = hi - n * 0.693359375f; \
    r = r - n * -2.12194440e-4f; \
    VF p = r * 1.9875691500E-4f + 1.3981999507E-3f; \
    p = p * r + 8.3334519073E-3f; \
    p = p * r + 4.1665795894E-2f; \
    p = p * r + 1.6666665459E-1f; \
    p = p * r + 5.0000001201E-1f; \
    p = p * (r * r) + r + 1.0f; \
    VI e = (k + 127) << 23; \
    e = e & ~under; /* 2^n = 0 when x is below the float range (and for −inf) */ \
    VF scale; memcpy(&scale, &e, sizeof scale); \
    return p * scale; \
} \
ATTR double NAME(float *y, const float *x, int64_t n, float shift) { \
    VF acc = {0}; \
    double sum = 0; \
    int64_t i = 0; \
    for (; i + W <= n; i += W) { \
        VF v; memcpy(&v, x + i, sizeof v); \
        v = NAME##_vexp(v - shift); \
        memcpy(y + i, &v, sizeof v); \
        acc += v; \
    } \
    for (int j = 0; j < W; j++) sum += acc[j]; \
    if (i < n) { \
        VF v = {0}; \
        for (int j = 0; i + j < n; j++) v[j] = x[i + j] - shift; \
        v = NAME##_vexp(v); \
        for (int j = 0; i + j < n; j++) { y[i + j] = v[j]; sum += v[j]; } \
    } \
    return sum; \
}

#define DEFINE_EXP_SHIFTED(NAME, ATTR) DEFINE_EXP_SHIFTED_W(NAME, ATTR, v8f, v8i, 8)

DEFINE_EXP_SHIFTED(ck_exp_shifted_generic, )
#if defined(__x86_64__)
DEFINE_EXP_SHIFTED(ck_exp_shifted_avx2, __attribute__((target("avx2,fma"))))
// 16 lanes: the exponentials were 4% of the vision encoder at 8.
DEFINE_EXP_SHIFTED_W(ck_exp_shifted_avx512, __attribute__((target("avx2,fma,avx512f"))), v16f, v16i, 16)
#endif

// SwiGLU, y = g / (1 + exp(−g)) · u (libm's scalar expf was 7% of a 512-token prefill), with the
// exponential ggml's CPU backend uses for it, so that the activations the next product quantizes
// are the ones llama.cpp quantizes: n = round(x·log2 e) by the 1.5·2^23 shift, b = x − n·ln 2 in
// two fused steps, a degree-5 polynomial in b, then the power of two. Same constants and fused
// operation order; two final forms, as in ggml: its AVX-512 build adds the 1 inside the
// polynomial and scales (`P512`), its AVX2 and NEON builds compute k + k·j with k = 2^n. Lanes
// with |n| > 126 (|g| > 87) take exp = inf or 0, where SiLU is −0 or g; ggml differs there only in
// denormal outputs. Whole vectors only; the last n mod W elements use libm's expf, as ggml does.
#define SILU_EXP_SHIFT 0x1.8p23f
#define DEFINE_SWIGLU_W(NAME, ATTR, VF, VI, W, P512) \
ATTR __attribute__((always_inline)) static inline VF NAME##_exp(VF x) { \
    const VF z = __builtin_elementwise_fma(x, (VF){0} + 0x1.715476p+0f, (VF){0} + SILU_EXP_SHIFT); \
    const VF n = z - SILU_EXP_SHIFT; \
    const VF b = __builtin_elementwise_fma(-n, (VF){0} + 0x1.7f7d1cp-20f, \
                                           __builtin_elementwise_fma(-n, (VF){0} + 0x1.62e4p-1f, x)); \
    VI zbits; memcpy(&zbits, &z, sizeof zbits); \
    const VI kbits = (zbits << 23) + 0x3F800000; /* 2^n: n sits in z's low mantissa bits */ \
    VF k; memcpy(&k, &kbits, sizeof k); \
    const VF u = b * b; \
    const VF high = __builtin_elementwise_fma( \
        __builtin_elementwise_fma((VF){0} + 0x1.0e4020p-7f, b, (VF){0} + 0x1.573e2ep-5f), u, \
        __builtin_elementwise_fma((VF){0} + 0x1.555e66p-3f, b, (VF){0} + 0x1.fffdb6p-2f)); \
    VF e; \
    if (P512) { \
        e = __builtin_elementwise_fma(high, u, __builtin_elementwise_fma((VF){0} + 0x1.ffffecp-1f, b, (VF){0} + 1.0f)) * k; \
    } else { \
        const VF j = __builtin_elementwise_fma(high, u, ((VF){0} + 0x1.ffffecp-1f) * b); \
        e = __builtin_elementwise_fma(k, j, k); \
    } \
    const VI big = n > 126.0f, small = n < -126.0f; \
    VI ebits; memcpy(&ebits, &e, sizeof ebits); \
    ebits = (ebits & ~(big | small)) | (big & 0x7F800000); \
    memcpy(&e, &ebits, sizeof e); \
    return e; \
} \
ATTR void NAME(float *y, const float *g, const float *u, int64_t n) { \
    int64_t i = 0; \
    for (; i + W <= n; i += W) { \
        VF vg, vu; memcpy(&vg, g + i, sizeof vg); memcpy(&vu, u + i, sizeof vu); \
        const VF v = vg / (1.0f + NAME##_exp(-vg)) * vu; \
        memcpy(y + i, &v, sizeof v); \
    } \
    for (; i < n; i++) y[i] = g[i] / (1.0f + expf(-g[i])) * u[i]; \
}

DEFINE_SWIGLU_W(ck_swiglu_generic, , v8f, v8i, 8, 0)
#if defined(__x86_64__)
DEFINE_SWIGLU_W(ck_swiglu_avx2, __attribute__((target("avx2,fma"))), v8f, v8i, 8, 0)
DEFINE_SWIGLU_W(ck_swiglu_avx512, __attribute__((target("avx2,fma,avx512f"))), v16f, v16i, 16, 1)
#endif

// Softmax exponentials in llama.cpp's order (ggml_vec_soft_max_f32): the same exponential as
// the SwiGLU above, one vector of W at a time, each vector summed by the horizontal add of the
// build's width (AVX-512: _mm512_reduce_add_ps's halving tree; AVX2: hsum_float_8) and added to
// a double. `n` must be a multiple of W (callers pad with −inf, whose exponential is 0).
#define DEFINE_SOFTMAX_EXP_GGML(NAME, ATTR, EXP, VF, W) \
ATTR double NAME(float *y, const float *x, int64_t n, float max) { \
    double sum = 0; \
    for (int64_t i = 0; i < n; i += W) { \
        VF v; memcpy(&v, x + i, sizeof v); \
        v = EXP(v - max); \
        memcpy(y + i, &v, sizeof v); \
        float h[W]; memcpy(h, &v, sizeof h); \
        int width = W; \
        while (width > 4) { for (int j = 0; j < width / 2; j++) h[j] = h[width / 2 + j] + h[j]; width /= 2; } \
        sum += (double)((h[0] + h[2]) + (h[1] + h[3])); \
    } \
    return sum; \
}
#if defined(__x86_64__)
DEFINE_SOFTMAX_EXP_GGML(ck_softmax_exp_ggml_avx2, __attribute__((target("avx2,fma"))), ck_swiglu_avx2_exp, v8f, 8)
DEFINE_SOFTMAX_EXP_GGML(ck_softmax_exp_ggml_avx512, __attribute__((target("avx2,fma,avx512f"))), ck_swiglu_avx512_exp, v16f, 16)
#endif

void ck_swiglu_ref(float *y, const float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

double ck_exp_shifted_ref(float *y, const float *x, int64_t n, float shift) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        y[i] = expf(x[i] - shift);
        sum += y[i];
    }
    return sum;
}

// y = x·scale (+ mask) and the maximum of y. Swift's `max` keeps NaN ordering rules that stop
// its loop from vectorising (a scalar blend per score was ~10% of the vision encoder).
#define DEFINE_SCALE_MAX(NAME, ATTR) \
ATTR float NAME(float *y, const float *x, const float *mask, int64_t n, float scale) { \
    v8f best = (v8f){0} - __builtin_inff(); \
    int64_t i = 0; \
    for (; i + 8 <= n; i += 8) { \
        v8f v; memcpy(&v, x + i, sizeof v); \
        v = v * scale; \
        if (mask) { v8f m; memcpy(&m, mask + i, sizeof m); v = v + m; } \
        memcpy(y + i, &v, sizeof v); \
        best = __builtin_elementwise_max(best, v); \
    } \
    float result = -__builtin_inff(); \
    for (int j = 0; j < 8; j++) result = best[j] > result ? best[j] : result; \
    for (; i < n; i++) { \
        const float v = x[i] * scale + (mask ? mask[i] : 0.0f); \
        y[i] = v; \
        result = v > result ? v : result; \
    } \
    return result; \
}

DEFINE_SCALE_MAX(ck_scale_max_generic, )
#if defined(__x86_64__)
DEFINE_SCALE_MAX(ck_scale_max_avx2, __attribute__((target("avx2,fma"))))
#endif

float ck_scale_max_ref(float *y, const float *x, const float *mask, int64_t n, float scale) {
    float result = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        y[i] = x[i] * scale + (mask ? mask[i] : 0.0f);
        if (y[i] > result) result = y[i];
    }
    return result;
}
