// Portable scalar C: conversions, ggml activation quantizers, dequantizers and the reference
// dot products every SIMD kernel is tested against. Integer block sums are exact; floats are
// accumulated block by block in order.
#include "ck_internal.h"
#include <math.h>

static inline float f32_from_bits(uint32_t w) { float f; memcpy(&f, &w, 4); return f; }
static inline uint32_t f32_to_bits(float f) { uint32_t w; memcpy(&w, &f, 4); return w; }

float ck_fp16_to_fp32_bits(uint16_t h) {
    const uint32_t w = (uint32_t)h << 16;
    const uint32_t sign = w & 0x80000000u;
    const uint32_t two_w = w + w;
    const uint32_t exp_offset = 0xE0u << 23;
    const float exp_scale = 0x1.0p-112f;
    const float normalized = f32_from_bits((two_w >> 4) + exp_offset) * exp_scale;
    const uint32_t magic_mask = 126u << 23;
    const float magic_bias = 0.5f;
    const float denormalized = f32_from_bits((two_w >> 17) | magic_mask) - magic_bias;
    const uint32_t denormalized_cutoff = 1u << 27;
    const uint32_t result = sign | (two_w < denormalized_cutoff ? f32_to_bits(denormalized) : f32_to_bits(normalized));
    return f32_from_bits(result);
}

uint16_t ck_fp32_to_fp16_bits(float f) {
    const float scale_to_inf = 0x1.0p+112f;
    const float scale_to_zero = 0x1.0p-110f;
    float base = (fabsf(f) * scale_to_inf) * scale_to_zero;
    const uint32_t w = f32_to_bits(f);
    const uint32_t shl1_w = w + w;
    const uint32_t sign = w & 0x80000000u;
    uint32_t bias = shl1_w & 0xFF000000u;
    if (bias < 0x71000000u) bias = 0x71000000u;
    base = f32_from_bits((bias >> 1) + 0x07800000u) + base;
    const uint32_t bits = f32_to_bits(base);
    const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
    const uint32_t mantissa_bits = bits & 0x00000FFFu;
    const uint32_t nonsign = exp_bits + mantissa_bits;
    return (uint16_t)((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

float ck_fp16_table[65536];
float ck_gelu_table[65536];

static float gelu_tanh(float x) {
    const float c = 0.79788456080286535587989211986876f; // sqrt(2/pi)
    return 0.5f * x * (1.0f + tanhf(c * x * (1.0f + 0.044715f * x * x)));
}

void ck_tables_init(void) {
    for (uint32_t i = 0; i < 65536; i++) ck_fp16_table[i] = ck_fp16_to_fp32_bits((uint16_t)i);
    // ggml: table[i] = fp16(gelu(fp32(fp16 i)))
    for (uint32_t i = 0; i < 65536; i++) {
        const float x = ck_fp16_table[i];
        ck_gelu_table[i] = ck_fp16_to_fp32_bits(ck_fp32_to_fp16_bits(gelu_tanh(x)));
    }
}

float ck_fp16_to_fp32(uint16_t h) { return ck_fp16_to_fp32_bits(h); }
uint16_t ck_fp32_to_fp16(float f) { return ck_fp32_to_fp16_bits(f); }
void ck_fp16_to_fp32_row(const uint16_t *x, float *y, int64_t n) {
    const ck_convert_fn fast = ck_current_fp16_to_fp32();
    if (fast) { fast(x, y, n); return; }
    for (int64_t i = 0; i < n; i++) y[i] = CK_FP16(x[i]);
}
void ck_fp32_to_fp16_row(const float *x, uint16_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = ck_fp32_to_fp16_bits(x[i]);
}
float ck_bf16_to_fp32(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }
uint16_t ck_fp32_to_bf16(float f) {
    const uint32_t u = f32_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 64); // quiet NaN
    return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

void ck_gelu_fp16_table_ref(const float *x, float *y, int64_t n) {
    ck_ensure_init();
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        if (v <= -10.0f) y[i] = 0.0f;
        else if (v >= 10.0f) y[i] = v;
        else y[i] = ck_gelu_table[ck_fp32_to_fp16_bits(v)];
    }
}

// ---------------------------------------------------------------- activation quantizers
// Rounding: nearest, ties to even (ggml's AVX2 and NEON quantizers; its scalar fallback
// rounds ties away from zero, which only differs on exact .5 products).

static void prep_q8_0(const float *x, void *vy, int64_t n) {
    block_q8_0 *y = vy;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) amax = fmaxf(amax, fabsf(x[i * QK8_0 + j]));
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[i].d = ck_fp32_to_fp16_bits(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = (int8_t)(int)nearbyintf(x[i * QK8_0 + j] * id);
    }
}

static void prep_q8_1(const float *x, void *vy, int64_t n) {
    block_q8_1 *y = vy;
    for (int64_t i = 0; i < n / QK8_0; i++) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) amax = fmaxf(amax, fabsf(x[i * QK8_0 + j]));
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[i].d = ck_fp32_to_fp16_bits(d);
        int sum = 0;
        for (int j = 0; j < QK8_0; j++) {
            const int q = (int)nearbyintf(x[i * QK8_0 + j] * id);
            y[i].qs[j] = (int8_t)q;
            sum += q;
        }
        y[i].s = ck_fp32_to_fp16_bits(d * (float)sum);
    }
}

static inline int nearest_int(float fval) {
    float val = fval + 12582912.f;
    int i;
    memcpy(&i, &val, sizeof(int));
    return (i & 0x007fffff) - 0x00400000;
}

static void prep_q8_K(const float *x, void *vy, int64_t n) {
    block_q8_K *y = vy;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < QK_K; j++) {
            const float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof(block_q8_K));
            x += QK_K;
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            const int v = nearest_int(iscale * x[j]);
            y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int j = 0; j < QK_K / 16; j++) {
            int sum = 0;
            for (int ii = 0; ii < 16; ii++) sum += y[i].qs[j * 16 + ii];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1.0f / iscale;
        x += QK_K;
    }
}

/// Activations of F16 weights: rounded to fp16 as ggml does, stored widened to F32.
static void prep_f16(const float *x, void *vy, int64_t n) {
    float *y = vy;
    for (int64_t i = 0; i < n; i++) y[i] = CK_FP16(ck_fp32_to_fp16_bits(x[i]));
}
static void prep_bf16(const float *x, void *vy, int64_t n) {
    uint16_t *y = vy;
    for (int64_t i = 0; i < n; i++) y[i] = ck_fp32_to_bf16(x[i]);
}

// ---------------------------------------------------------------- dequantization

void ck_expand_activation(int type, const void *va, float *y, int64_t n) {
    ck_ensure_init();
    switch (ck_activation_type(type)) {
    case CK_TYPE_Q8_1: {
        const block_q8_1 *a = va;
        for (int64_t i = 0; i < n / QK8_0; i++, y += QK8_0) {
            const float d = CK_FP16(a[i].d);
            for (int j = 0; j < QK8_0; j++) y[j] = a[i].qs[j] * d;
        }
        return;
    }
    case CK_TYPE_Q8_K: {
        const block_q8_K *a = va;
        for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
            const float d = a[i].d;
            for (int j = 0; j < QK_K; j++) y[j] = a[i].qs[j] * d;
        }
        return;
    }
    case CK_TYPE_F16:
        if (type == CK_TYPE_F16) { memcpy(y, va, (size_t)n * 4); return; } // widened (prep_f16)
        ck_dequantize_row(CK_TYPE_F16, va, y, n);
        return;
    default:
        // F32, BF16 and Q8_0 activations are stored in weight formats.
        ck_dequantize_row(ck_activation_type(type), va, y, n);
    }
}

void ck_dequantize_row_ref(int type, const void *vx, float *y, int64_t n) {
    ck_ensure_init();
    switch (type) {
    case CK_TYPE_F32: memcpy(y, vx, (size_t)n * 4); return;
    case CK_TYPE_F16: ck_fp16_to_fp32_row(vx, y, n); return;
    case CK_TYPE_BF16: { const uint16_t *x = vx; for (int64_t i = 0; i < n; i++) y[i] = ck_bf16_to_fp32(x[i]); return; }
    case CK_TYPE_Q4_0: {
        const block_q4_0 *x = vx;
        for (int64_t i = 0; i < n / 32; i++, y += 32) {
            const float d = CK_FP16(x[i].d);
            for (int j = 0; j < 16; j++) {
                y[j] = ((x[i].qs[j] & 0x0F) - 8) * d;
                y[j + 16] = ((x[i].qs[j] >> 4) - 8) * d;
            }
        }
        return;
    }
    case CK_TYPE_Q4_1: {
        const block_q4_1 *x = vx;
        for (int64_t i = 0; i < n / 32; i++, y += 32) {
            const float d = CK_FP16(x[i].d), m = CK_FP16(x[i].m);
            for (int j = 0; j < 16; j++) {
                y[j] = (x[i].qs[j] & 0x0F) * d + m;
                y[j + 16] = (x[i].qs[j] >> 4) * d + m;
            }
        }
        return;
    }
    case CK_TYPE_Q5_0: {
        const block_q5_0 *x = vx;
        for (int64_t i = 0; i < n / 32; i++, y += 32) {
            const float d = CK_FP16(x[i].d);
            uint32_t qh; memcpy(&qh, x[i].qh, 4);
            for (int j = 0; j < 16; j++) {
                const uint8_t xh0 = ((qh >> j) << 4) & 0x10;
                const uint8_t xh1 = ((qh >> (j + 12))) & 0x10;
                y[j] = (((x[i].qs[j] & 0x0F) | xh0) - 16) * d;
                y[j + 16] = (((x[i].qs[j] >> 4) | xh1) - 16) * d;
            }
        }
        return;
    }
    case CK_TYPE_Q5_1: {
        const block_q5_1 *x = vx;
        for (int64_t i = 0; i < n / 32; i++, y += 32) {
            const float d = CK_FP16(x[i].d), m = CK_FP16(x[i].m);
            uint32_t qh; memcpy(&qh, x[i].qh, 4);
            for (int j = 0; j < 16; j++) {
                const uint8_t xh0 = ((qh >> j) << 4) & 0x10;
                const uint8_t xh1 = ((qh >> (j + 12))) & 0x10;
                y[j] = ((x[i].qs[j] & 0x0F) | xh0) * d + m;
                y[j + 16] = ((x[i].qs[j] >> 4) | xh1) * d + m;
            }
        }
        return;
    }
    case CK_TYPE_Q8_0: {
        const block_q8_0 *x = vx;
        for (int64_t i = 0; i < n / 32; i++, y += 32) {
            const float d = CK_FP16(x[i].d);
            for (int j = 0; j < 32; j++) y[j] = x[i].qs[j] * d;
        }
        return;
    }
    case CK_TYPE_Q2_K: {
        const block_q2_K *x = vx;
        for (int64_t i = 0; i < n / QK_K; i++) {
            const float d = CK_FP16(x[i].d), min = CK_FP16(x[i].dmin);
            const uint8_t *q = x[i].qs;
            int is = 0;
            for (int k = 0; k < QK_K; k += 128) {
                int shift = 0;
                for (int j = 0; j < 4; ++j) {
                    uint8_t sc = x[i].scales[is++];
                    float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                    for (int l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l] >> shift) & 3)) - ml;
                    sc = x[i].scales[is++];
                    dl = d * (sc & 0xF); ml = min * (sc >> 4);
                    for (int l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l + 16] >> shift) & 3)) - ml;
                    shift += 2;
                }
                q += 32;
            }
        }
        return;
    }
    case CK_TYPE_Q3_K: {
        const block_q3_K *x = vx;
        for (int64_t i = 0; i < n / QK_K; i++) {
            const float d_all = CK_FP16(x[i].d);
            int8_t scales[16];
            ck_q3k_scales(x[i].scales, scales);
            const uint8_t *q = x[i].qs;
            const uint8_t *hm = x[i].hmask;
            uint8_t m = 1;
            int is = 0;
            for (int k = 0; k < QK_K; k += 128) {
                int shift = 0;
                for (int j = 0; j < 4; ++j) {
                    float dl = d_all * (scales[is++] - 32);
                    for (int l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l + 0] >> shift) & 3) - ((hm[l + 0] & m) ? 0 : 4));
                    dl = d_all * (scales[is++] - 32);
                    for (int l = 0; l < 16; ++l) *y++ = dl * ((int8_t)((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
                    shift += 2;
                    m <<= 1;
                }
                q += 32;
            }
        }
        return;
    }
    case CK_TYPE_Q4_K: {
        const block_q4_K *x = vx;
        for (int64_t i = 0; i < n / QK_K; i++) {
            const uint8_t *q = x[i].qs;
            const float d = CK_FP16(x[i].d), min = CK_FP16(x[i].dmin);
            int is = 0;
            uint8_t sc, m;
            for (int j = 0; j < QK_K; j += 64) {
                ck_scale_min_k4(is + 0, x[i].scales, &sc, &m);
                const float d1 = d * sc, m1 = min * m;
                ck_scale_min_k4(is + 1, x[i].scales, &sc, &m);
                const float d2 = d * sc, m2 = min * m;
                for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
                for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
                q += 32;
                is += 2;
            }
        }
        return;
    }
    case CK_TYPE_Q5_K: {
        const block_q5_K *x = vx;
        for (int64_t i = 0; i < n / QK_K; i++) {
            const uint8_t *ql = x[i].qs, *qh = x[i].qh;
            const float d = CK_FP16(x[i].d), min = CK_FP16(x[i].dmin);
            int is = 0;
            uint8_t sc, m, u1 = 1, u2 = 2;
            for (int j = 0; j < QK_K; j += 64) {
                ck_scale_min_k4(is + 0, x[i].scales, &sc, &m);
                const float d1 = d * sc, m1 = min * m;
                ck_scale_min_k4(is + 1, x[i].scales, &sc, &m);
                const float d2 = d * sc, m2 = min * m;
                for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
                for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
                ql += 32;
                is += 2;
                u1 <<= 2;
                u2 <<= 2;
            }
        }
        return;
    }
    case CK_TYPE_Q6_K: {
        const block_q6_K *x = vx;
        for (int64_t i = 0; i < n / QK_K; i++) {
            const float d = CK_FP16(x[i].d);
            const uint8_t *ql = x[i].ql, *qh = x[i].qh;
            const int8_t *sc = x[i].scales;
            for (int k = 0; k < QK_K; k += 128) {
                for (int l = 0; l < 32; ++l) {
                    const int is = l / 16;
                    const int8_t q1 = (int8_t)((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    const int8_t q2 = (int8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    const int8_t q3 = (int8_t)((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    const int8_t q4 = (int8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    y[l + 0] = d * sc[is + 0] * q1;
                    y[l + 32] = d * sc[is + 2] * q2;
                    y[l + 64] = d * sc[is + 4] * q3;
                    y[l + 96] = d * sc[is + 6] * q4;
                }
                y += 128;
                ql += 64;
                qh += 32;
                sc += 8;
            }
        }
        return;
    }
    default: return;
    }
}

// ---------------------------------------------------------------- scalar dot products

static float dot_f32(int64_t n, const void *vw, const void *va) {
    const float *w = vw, *a = va;
    double s = 0; // scalar twin: exact enough to judge the SIMD paths
    for (int64_t i = 0; i < n; i++) s += (double)w[i] * a[i];
    return (float)s;
}
static float dot_f16(int64_t n, const void *vw, const void *va) {
    const uint16_t *w = vw;
    const float *a = va;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)CK_FP16(w[i]) * a[i];
    return (float)s;
}
static float dot_bf16(int64_t n, const void *vw, const void *va) {
    const uint16_t *w = vw, *a = va;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)ck_bf16_to_fp32(w[i]) * ck_bf16_to_fp32(a[i]);
    return (float)s;
}

static float dot_q4_0(int64_t n, const void *vw, const void *va) {
    const block_q4_0 *x = vw; const block_q8_0 *y = va;
    float sumf = 0;
    for (int64_t i = 0; i < n / 32; i++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            sumi += ((x[i].qs[j] & 0x0F) - 8) * y[i].qs[j] + ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
        }
        sumf += sumi * (CK_FP16(x[i].d) * CK_FP16(y[i].d));
    }
    return sumf;
}
static float dot_q4_1(int64_t n, const void *vw, const void *va) {
    const block_q4_1 *x = vw; const block_q8_1 *y = va;
    float sumf = 0;
    for (int64_t i = 0; i < n / 32; i++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++) sumi += (x[i].qs[j] & 0x0F) * y[i].qs[j] + (x[i].qs[j] >> 4) * y[i].qs[j + 16];
        sumf += (CK_FP16(x[i].d) * CK_FP16(y[i].d)) * sumi + CK_FP16(x[i].m) * CK_FP16(y[i].s);
    }
    return sumf;
}
static float dot_q5_0(int64_t n, const void *vw, const void *va) {
    const block_q5_0 *x = vw; const block_q8_0 *y = va;
    float sumf = 0;
    for (int64_t i = 0; i < n / 32; i++) {
        uint32_t qh; memcpy(&qh, x[i].qh, 4);
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            const uint8_t xh0 = ((qh >> j) << 4) & 0x10;
            const uint8_t xh1 = ((qh >> (j + 12))) & 0x10;
            sumi += (((x[i].qs[j] & 0x0F) | xh0) - 16) * y[i].qs[j] + (((x[i].qs[j] >> 4) | xh1) - 16) * y[i].qs[j + 16];
        }
        sumf += sumi * (CK_FP16(x[i].d) * CK_FP16(y[i].d));
    }
    return sumf;
}
static float dot_q5_1(int64_t n, const void *vw, const void *va) {
    const block_q5_1 *x = vw; const block_q8_1 *y = va;
    float sumf = 0;
    for (int64_t i = 0; i < n / 32; i++) {
        uint32_t qh; memcpy(&qh, x[i].qh, 4);
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            const uint8_t xh0 = ((qh >> j) << 4) & 0x10;
            const uint8_t xh1 = ((qh >> (j + 12))) & 0x10;
            sumi += ((x[i].qs[j] & 0x0F) | xh0) * y[i].qs[j] + ((x[i].qs[j] >> 4) | xh1) * y[i].qs[j + 16];
        }
        sumf += (CK_FP16(x[i].d) * CK_FP16(y[i].d)) * sumi + CK_FP16(x[i].m) * CK_FP16(y[i].s);
    }
    return sumf;
}
static float dot_q8_0(int64_t n, const void *vw, const void *va) {
    const block_q8_0 *x = vw; const block_q8_0 *y = va;
    float sumf = 0;
    for (int64_t i = 0; i < n / 32; i++) {
        int sumi = 0;
        for (int j = 0; j < 32; j++) sumi += x[i].qs[j] * y[i].qs[j];
        sumf += sumi * (CK_FP16(x[i].d) * CK_FP16(y[i].d));
    }
    return sumf;
}
static float dot_q2_K(int64_t n, const void *vw, const void *va) {
    const block_q2_K *x = vw; const block_q8_K *y = va;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int summs = 0;
        for (int j = 0; j < 16; j++) summs += y[i].bsums[j] * (x[i].scales[j] >> 4);
        int isum = 0, is = 0;
        const uint8_t *q2 = x[i].qs; const int8_t *q8 = y[i].qs;
        for (int k = 0; k < QK_K / 128; k++) {
            int shift = 0;
            for (int j = 0; j < 4; j++) {
                int d = x[i].scales[is++] & 0xF, s = 0;
                for (int l = 0; l < 16; l++) s += q8[l] * ((q2[l] >> shift) & 3);
                isum += d * s;
                d = x[i].scales[is++] & 0xF; s = 0;
                for (int l = 16; l < 32; l++) s += q8[l] * ((q2[l] >> shift) & 3);
                isum += d * s;
                shift += 2;
                q8 += 32;
            }
            q2 += 32;
        }
        const float dall = y[i].d * CK_FP16(x[i].d), dmin = y[i].d * CK_FP16(x[i].dmin);
        sumf += dall * isum - dmin * summs;
    }
    return sumf;
}
static float dot_q3_K(int64_t n, const void *vw, const void *va) {
    const block_q3_K *x = vw; const block_q8_K *y = va;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int8_t scales[16];
        ck_q3k_scales(x[i].scales, scales);
        const uint8_t *q = x[i].qs, *hm = x[i].hmask; const int8_t *q8 = y[i].qs;
        int isum = 0, is = 0; uint8_t m = 1;
        for (int k = 0; k < QK_K / 128; k++) {
            int shift = 0;
            for (int j = 0; j < 4; j++) {
                for (int half = 0; half < 2; half++) {
                    int s = 0;
                    for (int l = half * 16; l < half * 16 + 16; l++) {
                        const int v = ((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4);
                        s += v * q8[l];
                    }
                    isum += (scales[is++] - 32) * s;
                }
                shift += 2; m <<= 1; q8 += 32;
            }
            q += 32;
        }
        sumf += CK_FP16(x[i].d) * y[i].d * isum;
    }
    return sumf;
}
static float dot_q4_K(int64_t n, const void *vw, const void *va) {
    const block_q4_K *x = vw; const block_q8_K *y = va;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *q4 = x[i].qs; const int8_t *q8 = y[i].qs;
        int isum = 0, summ = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            ck_scale_min_k4(j, x[i].scales, &sc, &m);
            int s = 0;
            const int shift = (j & 1) * 4;
            for (int l = 0; l < 32; l++) s += ((q4[l] >> shift) & 0xF) * q8[l];
            isum += sc * s;
            summ += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
            q8 += 32;
            if (j & 1) q4 += 32;
        }
        sumf += CK_FP16(x[i].d) * y[i].d * isum - CK_FP16(x[i].dmin) * y[i].d * summ;
    }
    return sumf;
}
static float dot_q5_K(int64_t n, const void *vw, const void *va) {
    const block_q5_K *x = vw; const block_q8_K *y = va;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *q4 = x[i].qs, *qh = x[i].qh; const int8_t *q8 = y[i].qs;
        int isum = 0, summ = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            ck_scale_min_k4(j, x[i].scales, &sc, &m);
            int s = 0;
            const int shift = (j & 1) * 4;
            for (int l = 0; l < 32; l++) {
                const int v = ((q4[l] >> shift) & 0xF) + (((qh[l] >> j) & 1) << 4);
                s += v * q8[l];
            }
            isum += sc * s;
            summ += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
            q8 += 32;
            if (j & 1) q4 += 32;
        }
        sumf += CK_FP16(x[i].d) * y[i].d * isum - CK_FP16(x[i].dmin) * y[i].d * summ;
    }
    return sumf;
}
static float dot_q6_K(int64_t n, const void *vw, const void *va) {
    const block_q6_K *x = vw; const block_q8_K *y = va;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *ql = x[i].ql, *qh = x[i].qh; const int8_t *q8 = y[i].qs;
        const int8_t *sc = x[i].scales;
        int isum = 0;
        for (int k = 0; k < QK_K; k += 128) {
            int s[8] = {0};
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                s[is + 0] += q1 * q8[l];
                s[is + 2] += q2 * q8[l + 32];
                s[is + 4] += q3 * q8[l + 64];
                s[is + 6] += q4 * q8[l + 96];
            }
            for (int j = 0; j < 8; j++) isum += sc[j] * s[j];
            ql += 64; qh += 32; q8 += 128; sc += 8;
        }
        sumf += CK_FP16(x[i].d) * y[i].d * isum;
    }
    return sumf;
}

void ck_fill_scalar(ck_kernel_table *t) {
    memset(t, 0, sizeof(*t));
    t->exp_shifted = ck_exp_shifted_generic;
    t->swiglu = ck_swiglu_generic;
    t->scale_max = ck_scale_max_generic;
    t->attention_f32 = ck_attention_f32_generic;
    t->gelu_fp16 = ck_gelu_fp16_table_ref;
    t->dot[CK_TYPE_F32] = dot_f32;
    t->dot[CK_TYPE_F16] = dot_f16;
    t->dot[CK_TYPE_BF16] = dot_bf16;
    t->dot[CK_TYPE_Q4_0] = dot_q4_0;
    t->dot[CK_TYPE_Q4_1] = dot_q4_1;
    t->dot[CK_TYPE_Q5_0] = dot_q5_0;
    t->dot[CK_TYPE_Q5_1] = dot_q5_1;
    t->dot[CK_TYPE_Q8_0] = dot_q8_0;
    t->dot[CK_TYPE_Q2_K] = dot_q2_K;
    t->dot[CK_TYPE_Q3_K] = dot_q3_K;
    t->dot[CK_TYPE_Q4_K] = dot_q4_K;
    t->dot[CK_TYPE_Q5_K] = dot_q5_K;
    t->dot[CK_TYPE_Q6_K] = dot_q6_K;
    t->prep[CK_TYPE_F16] = prep_f16;
    t->prep[CK_TYPE_Q8_0] = prep_q8_0;
    t->prep[CK_TYPE_Q8_1] = prep_q8_1;
    t->prep[CK_TYPE_Q8_K] = prep_q8_K;
}

// bf16 prep lives outside the 16-entry prep table (code 30).
void ck_prep_bf16(const float *x, void *y, int64_t n) { prep_bf16(x, y, n); }

uint64_t ck_stream_read(const void *p, size_t bytes) {
    const uint64_t *q = p;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    size_t n = bytes / 8, i = 0;
    for (; i + 4 <= n; i += 4) { a ^= q[i]; b ^= q[i + 1]; c ^= q[i + 2]; d ^= q[i + 3]; }
    for (; i < n; i++) a ^= q[i];
    return a ^ b ^ c ^ d;
}
