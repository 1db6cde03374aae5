// x86-64 kernels: AVX2+FMA+F16C, and AVX512-VL VNNI (vpdpbusd on ymm). Compiled with
// per-function target attributes so the library still runs on a baseline x86-64 CPU; the
// table is chosen at run time (cpuid). Integer block sums are exact, so results equal the
// scalar twins up to float summation order.
#include "ck_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

int ck_x86_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}
int ck_x86_has_avx512vnni(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
}

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))

AVX2 static inline float hsum_float_8(const __m256 x) {
    __m128 res = _mm256_extractf128_ps(x, 1);
    res = _mm_add_ps(res, _mm256_castps256_ps128(x));
    res = _mm_add_ps(res, _mm_movehl_ps(res, res));
    res = _mm_add_ss(res, _mm_movehdup_ps(res));
    return _mm_cvtss_f32(res);
}

/// 32 nibbles -> 32 bytes: low nibbles of the 16 bytes first, then the high nibbles.
AVX2 static inline __m256i bytes_from_nibbles_32(const uint8_t *rsi) {
    const __m128i tmp = _mm_loadu_si128((const __m128i *)rsi);
    const __m256i bytes = _mm256_insertf128_si256(_mm256_castsi128_si256(tmp), _mm_srli_epi16(tmp, 4), 1);
    return _mm256_and_si256(_mm256_set1_epi8(0x0F), bytes);
}

/// Bit j of the 32-bit word at x -> byte j = 0xFF when set, 0 otherwise.
AVX2 static inline __m256i bytes_from_bits_32(const uint8_t *x) {
    uint32_t x32;
    memcpy(&x32, x, 4);
    const __m256i shuf_mask = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x32), shuf_mask);
    const __m256i bit_mask = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
    bytes = _mm256_or_si256(bytes, bit_mask);
    return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

/// Signed int8 x int8 dot in 8 int32 lanes (sign moved onto y so maddubs sees unsigned x).
AVX2 static inline __m256i dot_i8_avx2(const __m256i x, const __m256i y) {
    const __m256i ax = _mm256_sign_epi8(x, x);
    const __m256i sy = _mm256_sign_epi8(y, x);
    const __m256i dot = _mm256_maddubs_epi16(ax, sy);
    return _mm256_madd_epi16(dot, _mm256_set1_epi16(1));
}

VNNI static inline __m256i dot_i8_vnni(const __m256i x, const __m256i y) {
    const __m256i ax = _mm256_sign_epi8(x, x);
    const __m256i sy = _mm256_sign_epi8(y, x);
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sy);
}

// ---------------------------------------------------------------- 32-element blocks

#define DEFINE_Q4_0(NAME, ATTR, DOT) \
ATTR static float NAME(int64_t n, const void *vw, const void *va) { \
    const block_q4_0 *x = vw; const block_q8_0 *y = va; \
    const int64_t nb = n / 32; \
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(); \
    int64_t i = 0; \
    for (; i + 1 < nb; i += 2) { \
        const __m256 d0 = _mm256_set1_ps(CK_FP16(x[i].d) * CK_FP16(y[i].d)); \
        const __m256 d1 = _mm256_set1_ps(CK_FP16(x[i + 1].d) * CK_FP16(y[i + 1].d)); \
        const __m256i q0 = _mm256_sub_epi8(bytes_from_nibbles_32(x[i].qs), _mm256_set1_epi8(8)); \
        const __m256i q1 = _mm256_sub_epi8(bytes_from_nibbles_32(x[i + 1].qs), _mm256_set1_epi8(8)); \
        const __m256i y0 = _mm256_loadu_si256((const __m256i *)y[i].qs); \
        const __m256i y1 = _mm256_loadu_si256((const __m256i *)y[i + 1].qs); \
        acc0 = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(DOT(q0, y0)), acc0); \
        acc1 = _mm256_fmadd_ps(d1, _mm256_cvtepi32_ps(DOT(q1, y1)), acc1); \
    } \
    for (; i < nb; i++) { \
        const __m256 d0 = _mm256_set1_ps(CK_FP16(x[i].d) * CK_FP16(y[i].d)); \
        const __m256i q0 = _mm256_sub_epi8(bytes_from_nibbles_32(x[i].qs), _mm256_set1_epi8(8)); \
        const __m256i y0 = _mm256_loadu_si256((const __m256i *)y[i].qs); \
        acc0 = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(DOT(q0, y0)), acc0); \
    } \
    return hsum_float_8(_mm256_add_ps(acc0, acc1)); \
}

#define DEFINE_Q8_0(NAME, ATTR, DOT) \
ATTR static float NAME(int64_t n, const void *vw, const void *va) { \
    const block_q8_0 *x = vw; const block_q8_0 *y = va; \
    const int64_t nb = n / 32; \
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(); \
    int64_t i = 0; \
    for (; i + 1 < nb; i += 2) { \
        const __m256 d0 = _mm256_set1_ps(CK_FP16(x[i].d) * CK_FP16(y[i].d)); \
        const __m256 d1 = _mm256_set1_ps(CK_FP16(x[i + 1].d) * CK_FP16(y[i + 1].d)); \
        const __m256i q0 = _mm256_loadu_si256((const __m256i *)x[i].qs); \
        const __m256i q1 = _mm256_loadu_si256((const __m256i *)x[i + 1].qs); \
        const __m256i y0 = _mm256_loadu_si256((const __m256i *)y[i].qs); \
        const __m256i y1 = _mm256_loadu_si256((const __m256i *)y[i + 1].qs); \
        acc0 = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(DOT(q0, y0)), acc0); \
        acc1 = _mm256_fmadd_ps(d1, _mm256_cvtepi32_ps(DOT(q1, y1)), acc1); \
    } \
    for (; i < nb; i++) { \
        const __m256 d0 = _mm256_set1_ps(CK_FP16(x[i].d) * CK_FP16(y[i].d)); \
        const __m256i q0 = _mm256_loadu_si256((const __m256i *)x[i].qs); \
        const __m256i y0 = _mm256_loadu_si256((const __m256i *)y[i].qs); \
        acc0 = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(DOT(q0, y0)), acc0); \
    } \
    return hsum_float_8(_mm256_add_ps(acc0, acc1)); \
}

#define DEFINE_Q5_0(NAME, ATTR, DOT) \
ATTR static float NAME(int64_t n, const void *vw, const void *va) { \
    const block_q5_0 *x = vw; const block_q8_0 *y = va; \
    const int64_t nb = n / 32; \
    __m256 acc = _mm256_setzero_ps(); \
    for (int64_t i = 0; i < nb; i++) { \
        const __m256 d = _mm256_set1_ps(CK_FP16(x[i].d) * CK_FP16(y[i].d)); \
        __m256i qx = bytes_from_nibbles_32(x[i].qs); \
        __m256i bxhi = bytes_from_bits_32(x[i].qh); \
        bxhi = _mm256_andnot_si256(bxhi, _mm256_set1_epi8((char)0xF0)); \
        qx = _mm256_or_si256(qx, bxhi); \
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs); \
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(DOT(qx, qy)), acc); \
    } \
    return hsum_float_8(acc); \
}

DEFINE_Q4_0(dot_q4_0_avx2, AVX2, dot_i8_avx2)
DEFINE_Q4_0(dot_q4_0_vnni, VNNI, dot_i8_vnni)
DEFINE_Q8_0(dot_q8_0_avx2, AVX2, dot_i8_avx2)
DEFINE_Q8_0(dot_q8_0_vnni, VNNI, dot_i8_vnni)
DEFINE_Q5_0(dot_q5_0_avx2, AVX2, dot_i8_avx2)
DEFINE_Q5_0(dot_q5_0_vnni, VNNI, dot_i8_vnni)

/// Q4_1 x Q8_1: unsigned nibbles, so maddubs directly; + m·s per block.
AVX2 static float dot_q4_1_avx2(int64_t n, const void *vw, const void *va) {
    const block_q4_1 *x = vw; const block_q8_1 *y = va;
    const int64_t nb = n / 32;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int64_t i = 0; i < nb; i++) {
        summs += CK_FP16(x[i].m) * CK_FP16(y[i].s);
        const __m256 d = _mm256_set1_ps(CK_FP16(x[i].d) * CK_FP16(y[i].d));
        const __m256i qx = bytes_from_nibbles_32(x[i].qs);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(qx, qy), _mm256_set1_epi16(1));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc);
    }
    return hsum_float_8(acc) + summs;
}

AVX2 static float dot_q5_1_avx2(int64_t n, const void *vw, const void *va) {
    const block_q5_1 *x = vw; const block_q8_1 *y = va;
    const int64_t nb = n / 32;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int64_t i = 0; i < nb; i++) {
        summs += CK_FP16(x[i].m) * CK_FP16(y[i].s);
        const __m256 d = _mm256_set1_ps(CK_FP16(x[i].d) * CK_FP16(y[i].d));
        __m256i qx = bytes_from_nibbles_32(x[i].qs);
        __m256i bxhi = bytes_from_bits_32(x[i].qh);
        bxhi = _mm256_and_si256(bxhi, _mm256_set1_epi8(0x10));
        qx = _mm256_or_si256(qx, bxhi);
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(qx, qy), _mm256_set1_epi16(1));
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc);
    }
    return hsum_float_8(acc) + summs;
}

// ---------------------------------------------------------------- K-quants

/// 8 six-bit scales and mins of a Q4_K/Q5_K block.
static inline void unpack_k4_scales(const uint8_t *q, uint8_t sc[8], uint8_t m[8]) {
    for (int j = 0; j < 8; j++) ck_scale_min_k4(j, q, &sc[j], &m[j]);
}

AVX2 static float dot_q4_K_avx2(int64_t n, const void *vw, const void *va) {
    const block_q4_K *x = vw; const block_q8_K *y = va;
    const int64_t nb = n / QK_K;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc = _mm256_setzero_ps();
    float summ_total = 0;
    for (int64_t i = 0; i < nb; i++) {
        uint8_t sc[8], mn[8];
        unpack_k4_scales(x[i].scales, sc, mn);
        int summ = 0;
        for (int j = 0; j < 8; j++) summ += mn[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        summ_total += CK_FP16(x[i].dmin) * y[i].d * (float)summ;
        const uint8_t *q4 = x[i].qs; const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        for (int jp = 0; jp < 4; jp++) {
            const __m256i q4bits = _mm256_loadu_si256((const __m256i *)(q4 + 32 * jp));
            const __m256i lo = _mm256_and_si256(q4bits, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q4bits, 4), m4);
            const __m256i y0 = _mm256_loadu_si256((const __m256i *)(q8 + 64 * jp));
            const __m256i y1 = _mm256_loadu_si256((const __m256i *)(q8 + 64 * jp + 32));
            const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), _mm256_set1_epi16(sc[2 * jp]));
            const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), _mm256_set1_epi16(sc[2 * jp + 1]));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(CK_FP16(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_float_8(acc) - summ_total;
}

AVX2 static float dot_q5_K_avx2(int64_t n, const void *vw, const void *va) {
    const block_q5_K *x = vw; const block_q8_K *y = va;
    const int64_t nb = n / QK_K;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc = _mm256_setzero_ps();
    float summ_total = 0;
    for (int64_t i = 0; i < nb; i++) {
        uint8_t sc[8], mn[8];
        unpack_k4_scales(x[i].scales, sc, mn);
        int summ = 0;
        for (int j = 0; j < 8; j++) summ += mn[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        summ_total += CK_FP16(x[i].dmin) * y[i].d * (float)summ;
        const uint8_t *q4 = x[i].qs; const int8_t *q8 = y[i].qs;
        const __m256i hbits = _mm256_loadu_si256((const __m256i *)x[i].qh);
        __m256i sumi = _mm256_setzero_si256();
        for (int jp = 0; jp < 4; jp++) {
            const __m256i q4bits = _mm256_loadu_si256((const __m256i *)(q4 + 32 * jp));
            // High bit of sub-block j is bit j of qh[l].
            const __m256i h0 = _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * jp), _mm256_set1_epi8(1));
            const __m256i h1 = _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * jp + 1), _mm256_set1_epi8(1));
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(q4bits, m4), _mm256_slli_epi16(h0, 4));
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q4bits, 4), m4), _mm256_slli_epi16(h1, 4));
            const __m256i y0 = _mm256_loadu_si256((const __m256i *)(q8 + 64 * jp));
            const __m256i y1 = _mm256_loadu_si256((const __m256i *)(q8 + 64 * jp + 32));
            const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), _mm256_set1_epi16(sc[2 * jp]));
            const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), _mm256_set1_epi16(sc[2 * jp + 1]));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(CK_FP16(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_float_8(acc) - summ_total;
}

AVX2 static float dot_q6_K_avx2(int64_t n, const void *vw, const void *va) {
    const block_q6_K *x = vw; const block_q8_K *y = va;
    const int64_t nb = n / QK_K;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const __m256i m2 = _mm256_set1_epi8(3);
    const __m256i m32 = _mm256_set1_epi8(32);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *ql = x[i].ql, *qh = x[i].qh; const int8_t *q8 = y[i].qs;
        const int8_t *sc = x[i].scales;
        __m256i sumi = _mm256_setzero_si256();
        for (int half = 0; half < 2; half++) {
            const __m256i b1 = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i b2 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i bh = _mm256_loadu_si256((const __m256i *)qh);
            const __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(bh, m2), 4);
            const __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 2), m2), 4);
            const __m256i h2 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 4), m2), 4);
            const __m256i h3 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 6), m2), 4);
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(b1, m4), h0),
                _mm256_or_si256(_mm256_and_si256(b2, m4), h1),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b1, 4), m4), h2),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b2, 4), m4), h3),
            };
            for (int k = 0; k < 4; k++) {
                const __m256i yk = _mm256_loadu_si256((const __m256i *)(q8 + 32 * k));
                __m256i p = _mm256_maddubs_epi16(q[k], yk);
                p = _mm256_sub_epi16(p, _mm256_maddubs_epi16(m32, yk));
                const __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]), _mm_set1_epi16(sc[2 * k]));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, s));
            }
            ql += 64; qh += 32; q8 += 128; sc += 8;
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(CK_FP16(x[i].d) * y[i].d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_float_8(acc);
}

// ---------------------------------------------------------------- float types

AVX2 static float dot_f32_avx2(int64_t n, const void *vw, const void *va) {
    const float *w = vw, *a = va;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(a + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(a + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 16), _mm256_loadu_ps(a + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 24), _mm256_loadu_ps(a + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(a + i), s0);
    float sum = hsum_float_8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) sum += w[i] * a[i];
    return sum;
}

AVX2 static inline __m256 load_f16x8(const uint16_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

AVX2 static float dot_f16_avx2(int64_t n, const void *vw, const void *va) {
    const uint16_t *w = vw, *a = va;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(load_f16x8(w + i), load_f16x8(a + i), s0);
        s1 = _mm256_fmadd_ps(load_f16x8(w + i + 8), load_f16x8(a + i + 8), s1);
        s2 = _mm256_fmadd_ps(load_f16x8(w + i + 16), load_f16x8(a + i + 16), s2);
        s3 = _mm256_fmadd_ps(load_f16x8(w + i + 24), load_f16x8(a + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(load_f16x8(w + i), load_f16x8(a + i), s0);
    float sum = hsum_float_8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) sum += CK_FP16(w[i]) * CK_FP16(a[i]);
    return sum;
}

AVX2 static inline __m256 load_bf16x8(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

AVX2 static float dot_bf16_avx2(int64_t n, const void *vw, const void *va) {
    const uint16_t *w = vw, *a = va;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(load_bf16x8(w + i), load_bf16x8(a + i), s0);
        s1 = _mm256_fmadd_ps(load_bf16x8(w + i + 8), load_bf16x8(a + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(load_bf16x8(w + i), load_bf16x8(a + i), s0);
    float sum = hsum_float_8(_mm256_add_ps(s0, s1));
    for (; i < n; i++) sum += ck_bf16_to_fp32(w[i]) * ck_bf16_to_fp32(a[i]);
    return sum;
}

// ---------------------------------------------------------------- activation quantizers

/// ggml's AVX2 quantize_row_q8_0: d = max|x|/127, q = round-half-even(x·127/max).
AVX2 static void prep_q8_0_avx2(const float *x, void *vy, int64_t n) {
    block_q8_0 *y = vy;
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8), v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
        __m256 maxAbs = _mm256_andnot_ps(sign_bit, v0);
        maxAbs = _mm256_max_ps(maxAbs, _mm256_andnot_ps(sign_bit, v1));
        maxAbs = _mm256_max_ps(maxAbs, _mm256_andnot_ps(sign_bit, v2));
        maxAbs = _mm256_max_ps(maxAbs, _mm256_andnot_ps(sign_bit, v3));
        __m128 max4 = _mm_max_ps(_mm256_extractf128_ps(maxAbs, 1), _mm256_castps256_ps128(maxAbs));
        max4 = _mm_max_ps(max4, _mm_movehl_ps(max4, max4));
        max4 = _mm_max_ss(max4, _mm_movehdup_ps(max4));
        const float maxScalar = _mm_cvtss_f32(max4);
        y[i].d = ck_fp32_to_fp16_bits(maxScalar / 127.f);
        const float id = (maxScalar != 0.0f) ? 127.f / maxScalar : 0.0f;
        const __m256 mul = _mm256_set1_ps(id);
        v0 = _mm256_round_ps(_mm256_mul_ps(v0, mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        v1 = _mm256_round_ps(_mm256_mul_ps(v1, mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        v2 = _mm256_round_ps(_mm256_mul_ps(v2, mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        v3 = _mm256_round_ps(_mm256_mul_ps(v3, mul), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256i i0 = _mm256_cvtps_epi32(v0), i1 = _mm256_cvtps_epi32(v1), i2 = _mm256_cvtps_epi32(v2), i3 = _mm256_cvtps_epi32(v3);
        i0 = _mm256_packs_epi32(i0, i1);
        i2 = _mm256_packs_epi32(i2, i3);
        i0 = _mm256_packs_epi16(i0, i2);
        // Undo the lane interleaving of the packs.
        const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        i0 = _mm256_permutevar8x32_epi32(i0, perm);
        _mm256_storeu_si256((__m256i *)y[i].qs, i0);
    }
}

void ck_fill_avx2(ck_kernel_table *t) {
    t->dot[CK_TYPE_F32] = dot_f32_avx2;
    t->dot[CK_TYPE_F16] = dot_f16_avx2;
    t->dot[CK_TYPE_BF16] = dot_bf16_avx2;
    t->dot[CK_TYPE_Q4_0] = dot_q4_0_avx2;
    t->dot[CK_TYPE_Q4_1] = dot_q4_1_avx2;
    t->dot[CK_TYPE_Q5_0] = dot_q5_0_avx2;
    t->dot[CK_TYPE_Q5_1] = dot_q5_1_avx2;
    t->dot[CK_TYPE_Q8_0] = dot_q8_0_avx2;
    t->dot[CK_TYPE_Q4_K] = dot_q4_K_avx2;
    t->dot[CK_TYPE_Q5_K] = dot_q5_K_avx2;
    t->dot[CK_TYPE_Q6_K] = dot_q6_K_avx2;
    t->prep[CK_TYPE_Q8_0] = prep_q8_0_avx2;
}

void ck_fill_avx512vnni(ck_kernel_table *t) {
    t->dot[CK_TYPE_Q4_0] = dot_q4_0_vnni;
    t->dot[CK_TYPE_Q5_0] = dot_q5_0_vnni;
    t->dot[CK_TYPE_Q8_0] = dot_q8_0_vnni;
}
#endif
