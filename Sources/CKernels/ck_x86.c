// x86-64 kernels: AVX2+FMA+F16C, and AVX-512 VNNI (vpdpbusd on ymm for the dots, on zmm for the
// tiled Q4_0/Q8_0 products). Compiled with
// per-function target attributes so the library still runs on a baseline x86-64 CPU; the
// table is chosen at run time (cpuid). Integer block sums are exact, so results equal the
// scalar twins up to float summation order.
#include "ck_internal.h"
#include <stdlib.h>
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

// ---------------------------------------------------------------- llama.cpp's attention order

// ggml multiplies the F16 KV cache with fp16-rounded queries (K·Q) and fp16-rounded
// probabilities (V·P) through llamafile's tinyBLAS: lane m of one vector accumulator takes the
// elements m, m+W, m+2W, ... by FMA, then the accumulator is summed horizontally. W is the
// build's vector width (16 with AVX-512, 8 with AVX2), so each level here reproduces the
// llama.cpp built for it.
AVX2 static void dot_rows_ggml_avx2(const float *a, const float *b, int64_t b_stride, int64_t rows, int64_t n, float *out) {
    for (int64_t r = 0; r < rows; r++) {
        const float *br = b + r * b_stride;
        __m256 acc = _mm256_setzero_ps();
        for (int64_t c = 0; c < n; c += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + c), _mm256_loadu_ps(br + c), acc);
        out[r] = hsum_float_8(acc);
    }
}

// ggml_vec_dot_f16 (what ggml uses instead when the batch has one column, i.e. decoding one
// token: llamafile declines n < 2): four accumulators of 8 lanes over steps of 32 elements,
// folded 0+2, 1+3, 0+1, then summed with two horizontal adds.
AVX2 static void vec_dot_rows_ggml_avx2(const float *a, const float *b, int64_t b_stride, int64_t rows, int64_t n, float *out) {
    for (int64_t r = 0; r < rows; r++) {
        const float *br = b + r * b_stride;
        __m256 s[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int64_t c = 0; c < n; c += 32)
            for (int j = 0; j < 4; j++) s[j] = _mm256_fmadd_ps(_mm256_loadu_ps(a + c + 8 * j), _mm256_loadu_ps(br + c + 8 * j), s[j]);
        s[0] = _mm256_add_ps(s[0], s[2]);
        s[1] = _mm256_add_ps(s[1], s[3]);
        s[0] = _mm256_add_ps(s[0], s[1]);
        const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(s[0]), _mm256_extractf128_ps(s[0], 1));
        const __m128 t1 = _mm_hadd_ps(t0, t0);
        out[r] = _mm_cvtss_f32(_mm_hadd_ps(t1, t1));
    }
}

// ---------------------------------------------------------------- 32-element blocks

/// Scale products d_x·d_y of two consecutive blocks from their fp16 scales, converted together
/// with one vcvtph2ps from a fresh register (no vpinsrw into a live accumulator, no table).
AVX2 static inline __m128 scale_pair(uint16_t xd0, uint16_t yd0, uint16_t xd1, uint16_t yd1) {
    const uint64_t packed = (uint64_t)xd0 | ((uint64_t)yd0 << 16) | ((uint64_t)xd1 << 32) | ((uint64_t)yd1 << 48);
    const __m128 v = _mm_cvtph_ps(_mm_cvtsi64_si128((long long)packed)); // dx0 dy0 dx1 dy1
    return _mm_mul_ps(v, _mm_movehdup_ps(v));                             // d0 . d1 .
}

#define DEFINE_Q4_0(NAME, ATTR, DOT) \
ATTR static float NAME(int64_t n, const void *vw, const void *va) { \
    const block_q4_0 *x = vw; const block_q8_0 *y = va; \
    const int64_t nb = n / 32; \
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(); \
    int64_t i = 0; \
    for (; i + 1 < nb; i += 2) { \
        const __m128 dd = scale_pair(x[i].d, y[i].d, x[i + 1].d, y[i + 1].d); \
        const __m256 d0 = _mm256_broadcastss_ps(dd); \
        const __m256 d1 = _mm256_broadcastss_ps(_mm_movehl_ps(dd, dd)); \
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
        const __m128 dd = scale_pair(x[i].d, y[i].d, x[i + 1].d, y[i + 1].d); \
        const __m256 d0 = _mm256_broadcastss_ps(dd); \
        const __m256 d1 = _mm256_broadcastss_ps(_mm_movehl_ps(dd, dd)); \
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

/// Q4_K/Q5_K 6-bit scales and mins -> bytes 0..7 scales, 8..15 mins (ggml's utmp shuffle).
static inline void unpack_k4_scales_mins(const uint8_t *scales, uint32_t utmp[4]) {
    const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    memcpy(utmp, scales, 12);
    utmp[3] = ((utmp[2] >> 4) & kmask2) | (((utmp[1] >> 6) & kmask3) << 4);
    const uint32_t uaux = utmp[1] & kmask1;
    utmp[1] = (utmp[2] & kmask2) | (((utmp[0] >> 6) & kmask3) << 4);
    utmp[2] = uaux;
    utmp[0] &= kmask1;
}

/// Σ_j min_j · (bsums[2j] + bsums[2j+1]) as 4 int32 lanes.
AVX2 static inline __m128i k4_min_sums(const uint32_t utmp[4], const int16_t *bsums) {
    const __m128i mins = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)utmp[3], (int)utmp[2]));
    const __m256i q8sums = _mm256_loadu_si256((const __m256i *)bsums);
    const __m128i q8s = _mm_hadd_epi16(_mm256_castsi256_si128(q8sums), _mm256_extracti128_si256(q8sums, 1));
    return _mm_madd_epi16(mins, q8s);
}

AVX2 static float dot_q4_K_avx2(int64_t n, const void *vw, const void *va) {
    const block_q4_K *x = vw; const block_q8_K *y = va;
    const int64_t nb = n / QK_K;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc = _mm256_setzero_ps();
    __m128 acc_m = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        uint32_t utmp[4];
        unpack_k4_scales_mins(x[i].scales, utmp);
        const uint8_t *sc = (const uint8_t *)utmp;
        const __m128 dd = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)x[i].d | ((uint32_t)x[i].dmin << 16))));
        const __m128 yd = _mm_set1_ps(y[i].d);
        const __m128 ddy = _mm_mul_ps(dd, yd); // d·yd, dmin·yd
        acc_m = _mm_fmadd_ps(_mm_shuffle_ps(ddy, ddy, 0x55), _mm_cvtepi32_ps(k4_min_sums(utmp, y[i].bsums)), acc_m);
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
        acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(ddy), _mm256_cvtepi32_ps(sumi), acc);
    }
    acc_m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
    acc_m = _mm_add_ss(acc_m, _mm_movehdup_ps(acc_m));
    return hsum_float_8(acc) - _mm_cvtss_f32(acc_m);
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

/// Q6_K x Q8_K. The -32 offset is taken out once per block through Q8_K's 16-element sums
/// (Σ_j sc_j·bsum_j), and each pair of sub-block scales is widened by one byte shuffle, instead
/// of a second maddubs and a scalar broadcast per 32 elements (the old loop was 3x slower per
/// element than Q4_K here).
AVX2 static float dot_q6_K_avx2(int64_t n, const void *vw, const void *va) {
    const block_q6_K *x = vw; const block_q8_K *y = va;
    const int64_t nb = n / QK_K;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const __m256i m2 = _mm256_set1_epi8(3);
    // Byte shuffles selecting scale 2m eight times, then scale 2m+1 eight times.
    static const uint8_t pair_shuffle[8][16] = {
        {0,0,0,0,0,0,0,0,1,1,1,1,1,1,1,1}, {2,2,2,2,2,2,2,2,3,3,3,3,3,3,3,3},
        {4,4,4,4,4,4,4,4,5,5,5,5,5,5,5,5}, {6,6,6,6,6,6,6,6,7,7,7,7,7,7,7,7},
        {8,8,8,8,8,8,8,8,9,9,9,9,9,9,9,9}, {10,10,10,10,10,10,10,10,11,11,11,11,11,11,11,11},
        {12,12,12,12,12,12,12,12,13,13,13,13,13,13,13,13}, {14,14,14,14,14,14,14,14,15,15,15,15,15,15,15,15},
    };
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *ql = x[i].ql, *qh = x[i].qh; const int8_t *q8 = y[i].qs;
        const __m128i scales = _mm_loadu_si128((const __m128i *)x[i].scales);
        const __m256i offset = _mm256_madd_epi16(_mm256_cvtepi8_epi16(scales),
                                                 _mm256_loadu_si256((const __m256i *)y[i].bsums));
        __m256i sumi = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offset, 5));
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
                const __m256i s = _mm256_cvtepi8_epi16(
                    _mm_shuffle_epi8(scales, _mm_loadu_si128((const __m128i *)pair_shuffle[half * 4 + k])));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], yk), s));
            }
            ql += 64; qh += 32; q8 += 128;
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

/// F16 weights · widened fp16-rounded activations (prep_f16): one conversion per weight.
AVX2 static float dot_f16_avx2(int64_t n, const void *vw, const void *va) {
    const uint16_t *w = vw;
    const float *a = va;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(load_f16x8(w + i), _mm256_loadu_ps(a + i), s0);
        s1 = _mm256_fmadd_ps(load_f16x8(w + i + 8), _mm256_loadu_ps(a + i + 8), s1);
        s2 = _mm256_fmadd_ps(load_f16x8(w + i + 16), _mm256_loadu_ps(a + i + 16), s2);
        s3 = _mm256_fmadd_ps(load_f16x8(w + i + 24), _mm256_loadu_ps(a + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(load_f16x8(w + i), _mm256_loadu_ps(a + i), s0);
    float sum = hsum_float_8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) sum += CK_FP16(w[i]) * a[i];
    return sum;
}

/// fp16 rounding of activations for F16 weights (F16C, round to nearest even), kept as F32.
AVX2 static void prep_f16_avx2(const float *x, void *vy, int64_t n) {
    float *y = vy;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    for (; i < n; i++) y[i] = CK_FP16(ck_fp32_to_fp16(x[i]));
}

/// 16 weights per conversion on AVX-512 (the 8-wide loop was conversion-bound in decode).
VNNI static float dot_f16_avx512(int64_t n, const void *vw, const void *va) {
    const uint16_t *w = vw;
    const float *a = va;
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i))), _mm512_loadu_ps(a + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i + 16))), _mm512_loadu_ps(a + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i + 32))), _mm512_loadu_ps(a + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i + 48))), _mm512_loadu_ps(a + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i))), _mm512_loadu_ps(a + i), s0);
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
    for (; i < n; i++) sum += CK_FP16(w[i]) * a[i];
    return sum;
}

/// Four F16 weight rows side by side for batches of 1-2 (decode): four streams, each prefetched a
/// 4-row strip ahead (ck_tile_prefetch_distance), where one row at a time read 8.2 GB/s from DRAM
/// with or without prefetch. Each row's arithmetic is dot_f16_avx512's, operation for operation,
/// so results are bit-identical to the row-at-a-time path.
VNNI static void dot_f16_avx512_x4(int64_t n, const uint16_t *w, size_t row_bytes, const float *a,
                                    ptrdiff_t pf, float out[4]) {
    const size_t rs = row_bytes / 2;
    __m512 s[4][4];
    for (int r = 0; r < 4; r++) for (int k = 0; k < 4; k++) s[r][k] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512 a0 = _mm512_loadu_ps(a + i), a1 = _mm512_loadu_ps(a + i + 16);
        const __m512 a2 = _mm512_loadu_ps(a + i + 32), a3 = _mm512_loadu_ps(a + i + 48);
        for (int r = 0; r < 4; r++) {
            const uint16_t *wr = w + r * rs + i;
            _mm_prefetch((const char *)wr + pf, _MM_HINT_T0);
            _mm_prefetch((const char *)wr + pf + 64, _MM_HINT_T0);
            s[r][0] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)wr)), a0, s[r][0]);
            s[r][1] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(wr + 16))), a1, s[r][1]);
            s[r][2] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(wr + 32))), a2, s[r][2]);
            s[r][3] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(wr + 48))), a3, s[r][3]);
        }
    }
    for (int r = 0; r < 4; r++) {
        const uint16_t *wr = w + r * rs;
        int64_t j = i;
        __m512 s0 = s[r][0];
        for (; j + 16 <= n; j += 16)
            s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(wr + j))), _mm512_loadu_ps(a + j), s0);
        float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s[r][1]), _mm512_add_ps(s[r][2], s[r][3])));
        for (; j < n; j++) sum += CK_FP16(wr[j]) * a[j];
        out[r] = sum;
    }
}

/// ck_mul_mat_fn for F16 weights on AVX-512: strips of four rows (dot_f16_avx512_x4), the last
/// 1-3 rows one at a time.
VNNI static void mul_mat_f16_avx512(int64_t n, const void *vw, size_t row_bytes, int64_t nrows, const void *act,
                                    size_t act_bytes, int64_t batch, float *out, int64_t out_stride) {
    const char *w = vw;
    const ptrdiff_t pf = ck_tile_prefetch_distance(row_bytes);
    int64_t r = 0;
    for (; r + 4 <= nrows; r += 4) {
        for (int64_t b = 0; b < batch; b++) {
            float o[4];
            dot_f16_avx512_x4(n, (const uint16_t *)(w + r * row_bytes), row_bytes,
                              (const float *)((const char *)act + b * act_bytes), pf, o);
            for (int k = 0; k < 4; k++) out[b * out_stride + r + k] = o[k];
        }
    }
    for (; r < nrows; r++)
        for (int64_t b = 0; b < batch; b++)
            out[b * out_stride + r] = dot_f16_avx512(n, w + r * row_bytes, (const char *)act + b * act_bytes);
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

AVX2 static void fp16_to_fp32_avx2(const void *vx, float *y, int64_t n) {
    const uint16_t *x = vx;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_f16x8(x + i));
    for (; i < n; i++) y[i] = CK_FP16(x[i]);
}

// ggml's table GELU, 8 at a time: F16C rounds to fp16 (nearest even, as the scalar twin) and
// the table is gathered; the scalar loop's software fp16 rounding was 3% of the vision encoder.
AVX2 static void gelu_fp16_table_avx2(const float *x, float *y, int64_t n) {
    const __m256 low = _mm256_set1_ps(-10.0f), high = _mm256_set1_ps(10.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256i index = _mm256_cvtepu16_epi32(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
        __m256 g = _mm256_i32gather_ps(ck_gelu_table, index, 4);
        g = _mm256_blendv_ps(g, v, _mm256_cmp_ps(v, high, _CMP_GE_OQ));
        g = _mm256_andnot_ps(_mm256_cmp_ps(v, low, _CMP_LE_OQ), g);
        _mm256_storeu_ps(y + i, g);
    }
    if (i < n) ck_gelu_fp16_table_ref(x + i, y + i, n - i);
}

// ---------------------------------------------------------------- register-tiled products

// Q4_0/Q8_0 weights times Q8_0 activations, RM weight rows x RN activation rows per tile, so
// each unpacked weight block serves RN activations and each activation block RM rows (the
// 1x1 dot re-unpacks the weight for every activation: prefill was bound by that).
// ggml's Q4_0 decode (gemv on its repacked 8-row blocks): per block, the whole integer sum of
// each row's 32 products, then acc = fma(Σ, d_w·d_a, acc) per row in block order, the same
// arithmetic as ck_gemm, for batches below its threshold. Eight rows share one vector; a tail
// of fewer rows takes the same per-row operations one at a time.
AVX2 static inline __m256i row_sums_8(__m256i v[8]) {
    const __m256i h01 = _mm256_hadd_epi32(v[0], v[1]), h23 = _mm256_hadd_epi32(v[2], v[3]);
    const __m256i h45 = _mm256_hadd_epi32(v[4], v[5]), h67 = _mm256_hadd_epi32(v[6], v[7]);
    const __m256i a = _mm256_hadd_epi32(h01, h23), b = _mm256_hadd_epi32(h45, h67);
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

AVX2 static inline int32_t row_sum_1(__m256i v) {
    const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    const __m128i t = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm_cvtsi128_si32(_mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(2, 3, 0, 1))));
}

AVX2 static void gemv_q4_0_ggml_avx2(int64_t n, const void *w, size_t row_bytes, int64_t nrows, const void *act,
                                     size_t act_bytes, int64_t batch, float *out, int64_t out_stride) {
    const int64_t nb = n / 32;
    for (int64_t j = 0; j < batch; j++) {
        const block_q8_0 *y = (const block_q8_0 *)((const char *)act + (size_t)j * act_bytes);
        float *o = out + j * out_stride;
        int64_t r = 0;
        for (; r + 8 <= nrows; r += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (int64_t k = 0; k < nb; k++) {
                const __m256i ya = _mm256_loadu_si256((const __m256i *)y[k].qs);
                __m256i lanes[8];
                float dw[8];
                for (int i = 0; i < 8; i++) {
                    const block_q4_0 *x = (const block_q4_0 *)((const char *)w + (size_t)(r + i) * row_bytes) + k;
                    lanes[i] = dot_i8_avx2(_mm256_sub_epi8(bytes_from_nibbles_32(x->qs), _mm256_set1_epi8(8)), ya);
                    dw[i] = CK_FP16(x->d);
                }
                const __m256 scale = _mm256_mul_ps(_mm256_loadu_ps(dw), _mm256_set1_ps(CK_FP16(y[k].d)));
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(row_sums_8(lanes)), scale, acc);
            }
            _mm256_storeu_ps(o + r, acc);
        }
        for (; r < nrows; r++) {
            float acc = 0;
            for (int64_t k = 0; k < nb; k++) {
                const block_q4_0 *x = (const block_q4_0 *)((const char *)w + (size_t)r * row_bytes) + k;
                const int32_t sum = row_sum_1(dot_i8_avx2(_mm256_sub_epi8(bytes_from_nibbles_32(x->qs), _mm256_set1_epi8(8)),
                                                          _mm256_loadu_si256((const __m256i *)y[k].qs)));
                acc = fmaf((float)sum, CK_FP16(x->d) * CK_FP16(y[k].d), acc);
            }
            o[r] = acc;
        }
    }
}

/// gemv_q4_0_ggml_avx2 with vpdpbusd: unsigned nibbles times the signed activation, the −8·Σa
/// bias seeded once per block (the same integers), and the rows' next blocks prefetched.
VNNI static void gemv_q4_0_ggml_vnni(int64_t n, const void *w, size_t row_bytes, int64_t nrows, const void *act,
                                     size_t act_bytes, int64_t batch, float *out, int64_t out_stride) {
    const int64_t nb = n / 32;
    const ptrdiff_t pf = ck_tile_prefetch_distance(row_bytes);
    for (int64_t j = 0; j < batch; j++) {
        const block_q8_0 *y = (const block_q8_0 *)((const char *)act + (size_t)j * act_bytes);
        float *o = out + j * out_stride;
        int64_t r = 0;
        for (; r + 8 <= nrows; r += 8) {
            const char *base = (const char *)w + (size_t)r * row_bytes;
            __m256 acc = _mm256_setzero_ps();
            for (int64_t k = 0; k < nb; k++) {
                const __m256i ya = _mm256_loadu_si256((const __m256i *)y[k].qs);
                const __m256i seed = _mm256_sub_epi32(_mm256_setzero_si256(),
                                                      _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(8), ya));
                __m256i lanes[8];
                float dw[8];
                for (int i = 0; i < 8; i++) {
                    const block_q4_0 *x = (const block_q4_0 *)(base + (size_t)i * row_bytes) + k;
                    if (pf) _mm_prefetch((const char *)x + pf, _MM_HINT_T0);
                    const __m128i t = _mm_loadu_si128((const __m128i *)x->qs);
                    const __m256i q = _mm256_and_si256(_mm256_set1_epi8(0x0F),
                                                       _mm256_inserti128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1));
                    lanes[i] = _mm256_dpbusd_epi32(seed, q, ya);
                    dw[i] = CK_FP16(x->d);
                }
                const __m256 scale = _mm256_mul_ps(_mm256_loadu_ps(dw), _mm256_set1_ps(CK_FP16(y[k].d)));
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(row_sums_8(lanes)), scale, acc);
            }
            _mm256_storeu_ps(o + r, acc);
        }
        if (r < nrows) gemv_q4_0_ggml_avx2(n, (const char *)w + (size_t)r * row_bytes, row_bytes, nrows - r,
                                           (const char *)act + (size_t)j * act_bytes, act_bytes, 1, o + r, out_stride);
    }
}

// Every (row, activation) pair has its own accumulator updated in block order and reduced
// once, so a result does not depend on the tile it fell in, on the batch size (decode and
// prefill agree bit for bit) or on the thread split.

AVX2 static inline __m256i tile_unpack_q4_0(const block_q4_0 *x) {
    return _mm256_sub_epi8(bytes_from_nibbles_32(x->qs), _mm256_set1_epi8(8));
}
/// Q5_0: nibble | high bit << 4, minus 16 (a clear bit ORs in 0xF0, which is the −16).
AVX2 static inline __m256i tile_unpack_q5_0(const block_q5_0 *x) {
    const __m256i high = _mm256_andnot_si256(bytes_from_bits_32(x->qh), _mm256_set1_epi8((char)0xF0));
    return _mm256_or_si256(bytes_from_nibbles_32(x->qs), high);
}
AVX2 static inline __m256i tile_unpack_q8_0(const block_q8_0 *x) {
    return _mm256_loadu_si256((const __m256i *)x->qs);
}
/// |w| . sign(a, w) summed in pairs of bytes, then pairs of words: 8 int32 lanes.
AVX2 static inline __m256i tile_dot_avx2(const __m256i absw, const __m256i signeda) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(absw, signeda), _mm256_set1_epi16(1));
}

#define DEFINE_TILE(NAME, ATTR, BLOCK, UNPACK, DOT, RM, RN) \
ATTR static void NAME(int64_t nb, const char *w, size_t row_bytes, const char *a, size_t act_bytes, \
                      float *out, int64_t out_stride, ptrdiff_t pf) { \
    __m256 acc[RM][RN]; \
    for (int i = 0; i < RM; i++) for (int j = 0; j < RN; j++) acc[i][j] = _mm256_setzero_ps(); \
    for (int64_t k = 0; k < nb; k++) { \
        __m256i av[RN]; float ad[RN]; \
        for (int j = 0; j < RN; j++) { \
            const block_q8_0 *y = (const block_q8_0 *)(a + (size_t)j * act_bytes) + k; \
            av[j] = _mm256_loadu_si256((const __m256i *)y->qs); \
            ad[j] = CK_FP16(y->d); \
        } \
        for (int i = 0; i < RM; i++) { \
            const BLOCK *x = (const BLOCK *)(w + (size_t)i * row_bytes) + k; \
            if (pf) _mm_prefetch((const char *)x + pf, _MM_HINT_T0); \
            const __m256i q = UNPACK(x); \
            const __m256i absq = _mm256_sign_epi8(q, q); \
            const float dw = CK_FP16(x->d); \
            for (int j = 0; j < RN; j++) { \
                const __m256i dot = DOT(absq, _mm256_sign_epi8(av[j], q)); \
                acc[i][j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * ad[j]), _mm256_cvtepi32_ps(dot), acc[i][j]); \
            } \
        } \
    } \
    for (int i = 0; i < RM; i++) for (int j = 0; j < RN; j++) out[j * out_stride + i] = hsum_float_8(acc[i][j]); \
}

#define DEFINE_TILED_MUL_MAT(NAME, ATTR, BLOCK, UNPACK, DOT) \
CK_DEFINE_TILES(DEFINE_TILE, NAME, ATTR, BLOCK, UNPACK, DOT) \
CK_DEFINE_TILED_DRIVER(NAME, 1)

DEFINE_TILED_MUL_MAT(mul_mat_q4_0_avx2, AVX2, block_q4_0, tile_unpack_q4_0, tile_dot_avx2)
DEFINE_TILED_MUL_MAT(mul_mat_q5_0_avx2, AVX2, block_q5_0, tile_unpack_q5_0, tile_dot_avx2)
DEFINE_TILED_MUL_MAT(mul_mat_q8_0_avx2, AVX2, block_q8_0, tile_unpack_q8_0, tile_dot_avx2)

// AVX-512 VNNI on zmm: two weight rows per register (row r in the low 256 bits, row r+1 in the
// high ones), one 32-element block per step, and no sign fix-up per pair. Each half is then
// exactly the AVX2 tile's accumulator for its (row, activation): 8 int32 lanes of 4-byte sums
// per block, acc = fma(d_w·d_a, lanes, acc) in block order, reduced by hsum_float_8 at the end.
// That is ggml's order for Q5_0/Q8_0 (vec_dot and llamafile's tinyBLAS alike), so x86 results do
// not depend on the ISA level (packing two blocks per register instead, as this code once did,
// split each lane's chain into even and odd blocks: 8.7e-4 relative L2 to llama.cpp on the tiny
// Q8_0 fixture, against 0 now).
// vpdpbusd multiplies unsigned by signed bytes, so the weight is made unsigned once per block
// and the bias it adds is removed by seeding the integer sum with its negation:
//   Q4_0: Σ (q-8)·a = Σ q·a − 8·Σa   (q in 0..15 unsigned; the −8·Σa seed is per activation)
//   Q8_0: Σ w·a = Σ (w+128)·a − 128·Σa (w+128 = w xor 0x80 unsigned; the seed is per activation)
// The seeds depend on the activation only, so at batch 1 each weight pair costs one xor (Q8_0),
// vpdpbusd, a conversion, the scale product and one FMA.
#define ZMM __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))

ZMM static inline __m512 z_halves(float lo, float hi) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(lo)),
                                               _mm256_castps_pd(_mm256_set1_ps(hi)), 1));
}
ZMM static inline __m512i z_join(__m256i lo, __m256i hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
/// 32 nibbles -> 32 unsigned bytes 0..15 (low nibbles first), as bytes_from_nibbles_32.
ZMM static inline __m256i z_nibbles(const uint8_t *qs) {
    const __m128i t = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_set1_epi8(0x0F), _mm256_inserti128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1));
}
/// A row's block as unsigned bytes for vpdpbusd (the bias is removed by the activation seed).
ZMM static inline __m256i z_unsigned_q4_0(const block_q4_0 *x) { return z_nibbles(x->qs); }
ZMM static inline __m256i z_unsigned_q8_0(const block_q8_0 *x) {
    return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)x->qs), _mm256_set1_epi8((char)0x80));
}
/// Q5_0: the nibbles plus 16 where the block's high bit is set, 0..31 unsigned (seed −16·Σa).
ZMM static inline __m256i z_unsigned_q5_0(const block_q5_0 *x) {
    uint32_t qh;
    memcpy(&qh, x->qh, 4);
    return _mm256_mask_add_epi8(z_nibbles(x->qs), _cvtu32_mask32(qh), z_nibbles(x->qs), _mm256_set1_epi8(16));
}
// Weight side of rows r, r+1 at block k (`two` = 0: no row r+1, upper half zero).
#define Z_WEIGHT_PAIR(UNSIGNED, x0, x1, k, two, wq, wd) do { \
    wq = z_join(UNSIGNED((x0) + (k)), (two) ? UNSIGNED((x1) + (k)) : _mm256_setzero_si256()); \
    wd = z_halves(CK_FP16((x0)[k].d), (two) ? CK_FP16((x1)[k].d) : 0.0f); \
} while (0)
// Activation seed: minus the weights' bias (8, 16 or 128) times the 4-byte sums of a.
#define Z_SEED(BIAS, aq) _mm512_sub_epi32(_mm512_setzero_si512(), \
    _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8((char)(BIAS)), aq))

/// ggml's hsum_float_8 on each 256-bit half.
ZMM static inline void z_store_halves(__m512 acc, float *lo, float *hi, int two) {
    *lo = hsum_float_8(_mm512_castps512_ps256(acc));
    if (two) *hi = hsum_float_8(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)));
}

// The weight side of a 4-row strip is prepared once per strip (unpacked bytes and per-half
// scales, 128 bytes per row pair and block) and reused by every activation tile.
typedef struct { __m512i q; __m512 d; } z_weight;

// PACKED 0: the weight side is computed in the tile (small batches, where a strip is used by
// at most one tile); the arithmetic is identical, so results do not depend on the variant.
#define DEFINE_TILE_ZMM(NAME, BLOCK, UNSIGNED, BIAS, PACKED, RM, RN) \
ZMM static void NAME(int64_t nb, const z_weight *ws, const char *w, size_t row_bytes, const char *a, size_t act_bytes, \
                     float *out, int64_t out_stride, ptrdiff_t pf) { \
    enum { RP = (RM + 1) / 2 }; \
    __m512 acc[RP][RN]; \
    for (int p = 0; p < RP; p++) for (int j = 0; j < RN; j++) acc[p][j] = _mm512_setzero_ps(); \
    for (int64_t k = 0; k < nb; k++) { \
        __m512i aq[RN], aseed[RN]; __m512 ad[RN]; \
        for (int j = 0; j < RN; j++) { \
            const block_q8_0 *y = (const block_q8_0 *)(a + (size_t)j * act_bytes) + k; \
            aq[j] = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)y->qs)); \
            ad[j] = _mm512_set1_ps(CK_FP16(y->d)); \
            aseed[j] = Z_SEED(BIAS, aq[j]); \
        } \
        for (int p = 0; p < RP; p++) { \
            z_weight wv; \
            if (PACKED) { wv = ws[k * 2 + p]; } \
            else { \
                const BLOCK *x0 = (const BLOCK *)(w + (size_t)(2 * p) * row_bytes); \
                const BLOCK *x1 = (const BLOCK *)(w + (size_t)(2 * p + 1) * row_bytes); \
                if (pf) { \
                    _mm_prefetch((const char *)(x0 + k) + pf, _MM_HINT_T0); \
                    if (2 * p + 1 < RM) _mm_prefetch((const char *)(x1 + k) + pf, _MM_HINT_T0); \
                } \
                Z_WEIGHT_PAIR(UNSIGNED, x0, x1, k, 2 * p + 1 < RM, wv.q, wv.d); \
            } \
            for (int j = 0; j < RN; j++) { \
                const __m512i dot = _mm512_dpbusd_epi32(aseed[j], wv.q, aq[j]); \
                acc[p][j] = _mm512_fmadd_ps(_mm512_mul_ps(wv.d, ad[j]), _mm512_cvtepi32_ps(dot), acc[p][j]); \
            } \
        } \
    } \
    for (int p = 0; p < RP; p++) for (int j = 0; j < RN; j++) \
        z_store_halves(acc[p][j], out + j * out_stride + 2 * p, out + j * out_stride + 2 * p + 1, 2 * p + 1 < RM); \
}

typedef void (*z_tile_fn)(int64_t nb, const z_weight *ws, const char *w, size_t row_bytes, const char *a,
                          size_t act_bytes, float *out, int64_t out_stride, ptrdiff_t pf);

#define DEFINE_ZMM_TILES(NAME, BLOCK, UNSIGNED, BIAS, PACKED) \
DEFINE_TILE_ZMM(NAME##_1x1, BLOCK, UNSIGNED, BIAS, PACKED, 1, 1) DEFINE_TILE_ZMM(NAME##_1x2, BLOCK, UNSIGNED, BIAS, PACKED, 1, 2) \
DEFINE_TILE_ZMM(NAME##_1x3, BLOCK, UNSIGNED, BIAS, PACKED, 1, 3) DEFINE_TILE_ZMM(NAME##_2x1, BLOCK, UNSIGNED, BIAS, PACKED, 2, 1) \
DEFINE_TILE_ZMM(NAME##_2x2, BLOCK, UNSIGNED, BIAS, PACKED, 2, 2) DEFINE_TILE_ZMM(NAME##_2x3, BLOCK, UNSIGNED, BIAS, PACKED, 2, 3) \
DEFINE_TILE_ZMM(NAME##_3x1, BLOCK, UNSIGNED, BIAS, PACKED, 3, 1) DEFINE_TILE_ZMM(NAME##_3x2, BLOCK, UNSIGNED, BIAS, PACKED, 3, 2) \
DEFINE_TILE_ZMM(NAME##_3x3, BLOCK, UNSIGNED, BIAS, PACKED, 3, 3) DEFINE_TILE_ZMM(NAME##_4x1, BLOCK, UNSIGNED, BIAS, PACKED, 4, 1) \
DEFINE_TILE_ZMM(NAME##_4x2, BLOCK, UNSIGNED, BIAS, PACKED, 4, 2) DEFINE_TILE_ZMM(NAME##_4x3, BLOCK, UNSIGNED, BIAS, PACKED, 4, 3) \
static const z_tile_fn NAME##_tiles[4][3] = { \
    {NAME##_1x1, NAME##_1x2, NAME##_1x3}, {NAME##_2x1, NAME##_2x2, NAME##_2x3}, \
    {NAME##_3x1, NAME##_3x2, NAME##_3x3}, {NAME##_4x1, NAME##_4x2, NAME##_4x3}};

/// Batches of up to 3 rows run the inline tiles (a strip serves one tile: packing would only
/// add traffic); larger batches pack each strip once.
#define DEFINE_ZMM_MUL_MAT(NAME, BLOCK, UNSIGNED, BIAS) \
DEFINE_ZMM_TILES(NAME##_inline, BLOCK, UNSIGNED, BIAS, 0) \
DEFINE_ZMM_TILES(NAME##_packed, BLOCK, UNSIGNED, BIAS, 1) \
ZMM static void NAME(int64_t n, const void *w, size_t row_bytes, int64_t nrows, const void *act, size_t act_bytes, \
                     int64_t batch, float *out, int64_t out_stride) { \
    const int64_t nb = n / 32; \
    z_weight *ws = batch > 3 ? aligned_alloc(64, (size_t)nb * 2 * sizeof(z_weight)) : NULL; \
    const ptrdiff_t pf = ck_tile_prefetch_distance(row_bytes); \
    for (int64_t r = 0; r < nrows; r += 4) { \
        const int64_t rm = nrows - r < 4 ? nrows - r : 4; \
        const char *wr = (const char *)w + (size_t)r * row_bytes; \
        if (ws) { \
            for (int64_t p = 0; 2 * p < rm; p++) { \
                const BLOCK *x0 = (const BLOCK *)(wr + (size_t)(2 * p) * row_bytes); \
                const BLOCK *x1 = (const BLOCK *)(wr + (size_t)(2 * p + 1) * row_bytes); \
                for (int64_t k = 0; k < nb; k++) { \
                    z_weight *z = ws + k * 2 + p; \
                    Z_WEIGHT_PAIR(UNSIGNED, x0, x1, k, 2 * p + 1 < rm, z->q, z->d); \
                } \
            } \
        } \
        for (int64_t b = 0; b < batch; b += 3) { \
            const int64_t rn = batch - b < 3 ? batch - b : 3; \
            const z_tile_fn tile = ws ? NAME##_packed_tiles[rm - 1][rn - 1] : NAME##_inline_tiles[rm - 1][rn - 1]; \
            tile(nb, ws, wr, row_bytes, (const char *)act + (size_t)b * act_bytes, act_bytes, out + b * out_stride + r, \
                 out_stride, ws ? 0 : pf); \
        } \
    } \
    free(ws); \
}

DEFINE_ZMM_MUL_MAT(mul_mat_q4_0_zmm, block_q4_0, z_unsigned_q4_0, 8)
DEFINE_ZMM_MUL_MAT(mul_mat_q5_0_zmm, block_q5_0, z_unsigned_q5_0, 16)
DEFINE_ZMM_MUL_MAT(mul_mat_q8_0_zmm, block_q8_0, z_unsigned_q8_0, 0x80)

/// _mm512_reduce_add_ps's tree, written out: halves, then quarters, then pairs.
ZMM static inline float z_reduce_add(__m512 x) {
    const __m256 h = _mm256_add_ps(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)), _mm512_castps512_ps256(x));
    const __m128 q = _mm_add_ps(_mm256_extractf128_ps(h, 1), _mm256_castps256_ps128(h));
    const __m128 p = _mm_add_ps(q, _mm_shuffle_ps(q, q, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm_cvtss_f32(p) + _mm_cvtss_f32(_mm_shuffle_ps(p, p, _MM_SHUFFLE(1, 1, 1, 1)));
}

/// Sixteen _mm512_reduce_add_ps at once, each with exactly its additions (hi+lo halves, then
/// quarters, then pairs): sums are merged across registers by shuffles, so a row costs about one
/// instruction instead of eight.
ZMM static inline __m512 z_reduce_add_16(__m512 acc[16]) {
    __m512 z[8], w[4], v[2];
    for (int p = 0; p < 8; p++)
        z[p] = _mm512_add_ps(_mm512_shuffle_f32x4(acc[2 * p], acc[2 * p + 1], 0xEE),
                             _mm512_shuffle_f32x4(acc[2 * p], acc[2 * p + 1], 0x44));
    for (int r = 0; r < 4; r++)
        w[r] = _mm512_add_ps(_mm512_shuffle_f32x4(z[2 * r], z[2 * r + 1], 0xDD),
                             _mm512_shuffle_f32x4(z[2 * r], z[2 * r + 1], 0x88));
    for (int m = 0; m < 2; m++)
        v[m] = _mm512_add_ps(_mm512_shuffle_ps(w[2 * m], w[2 * m + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(w[2 * m], w[2 * m + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(v[0], v[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_ps(v[0], v[1], _MM_SHUFFLE(3, 1, 3, 1)));
    // r holds rows 0,4,8,12, 1,5,9,13, ...: a 4x4 transpose puts them in order.
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), r);
}

ZMM static void dot_rows_ggml_avx512(const float *a, const float *b, int64_t b_stride, int64_t rows, int64_t n, float *out) {
    int64_t r = 0;
    for (; r + 16 <= rows; r += 16) {
        __m512 acc[16];
        for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
        for (int64_t c = 0; c < n; c += 16) {
            const __m512 av = _mm512_loadu_ps(a + c);
            for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(av, _mm512_loadu_ps(b + (r + i) * b_stride + c), acc[i]);
        }
        _mm512_storeu_ps(out + r, z_reduce_add_16(acc));
    }
    for (; r < rows; r++) {
        const float *br = b + r * b_stride;
        __m512 acc = _mm512_setzero_ps();
        for (int64_t c = 0; c < n; c += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + c), _mm512_loadu_ps(br + c), acc);
        out[r] = z_reduce_add(acc);
    }
}

/// ggml_vec_dot_f16 on AVX-512 (no FP16 arithmetic): four accumulators of 16 lanes over steps
/// of 64, folded 0+2, 1+3, 0+1, then _mm512_reduce_add_ps's tree.
ZMM static void vec_dot_rows_ggml_avx512(const float *a, const float *b, int64_t b_stride, int64_t rows, int64_t n, float *out) {
    for (int64_t r = 0; r < rows; r++) {
        const float *br = b + r * b_stride;
        __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int64_t c = 0; c < n; c += 64)
            for (int j = 0; j < 4; j++) s[j] = _mm512_fmadd_ps(_mm512_loadu_ps(a + c + 16 * j), _mm512_loadu_ps(br + c + 16 * j), s[j]);
        s[0] = _mm512_add_ps(s[0], s[2]);
        s[1] = _mm512_add_ps(s[1], s[3]);
        out[r] = z_reduce_add(_mm512_add_ps(s[0], s[1]));
    }
}

// ---------------------------------------------------------------- dequantization (SGEMM route)

// Weight rows to floats before OpenBLAS multiplies them: a prompt converts every weight once per
// product, and the scalar loops were 9% of a Q4_0 prefill (perf). Each value is float(q)·d, one
// rounding, as in the scalar twin, so the results are identical.

/// Eight int8 (the low 8 bytes of v) times d, stored at y.
AVX2 static inline void store_i8x8_scaled(float *y, __m128i v, __m256 d) {
    _mm256_storeu_ps(y, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)), d));
}

/// Sixteen int8 times d, stored at y.
AVX2 static inline void store_i8x16_scaled(float *y, __m128i v, __m256 d) {
    store_i8x8_scaled(y, v, d);
    store_i8x8_scaled(y + 8, _mm_unpackhi_epi64(v, v), d);
}

AVX2 static void dequantize_q4_0_avx2(const void *vx, float *y, int64_t n) {
    const block_q4_0 *x = vx;
    const __m128i low4 = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const __m256 d = _mm256_set1_ps(CK_FP16(x[i].d));
        const __m128i q = _mm_loadu_si128((const __m128i *)x[i].qs);
        store_i8x16_scaled(y, _mm_sub_epi8(_mm_and_si128(q, low4), eight), d);
        store_i8x16_scaled(y + 16, _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), low4), eight), d);
    }
}

AVX2 static void dequantize_q5_0_avx2(const void *vx, float *y, int64_t n) {
    const block_q5_0 *x = vx;
    const __m128i low4 = _mm_set1_epi8(0x0F), sixteen = _mm_set1_epi8(16);
    // Byte k of the block takes bit k of qh: spread qh's bytes, test one bit per byte.
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const __m256 d = _mm256_set1_ps(CK_FP16(x[i].d));
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), spread);
        const __m256i high = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit),
                                              _mm256_set1_epi8(0x10));
        const __m128i q = _mm_loadu_si128((const __m128i *)x[i].qs);
        const __m128i lo = _mm_or_si128(_mm_and_si128(q, low4), _mm256_castsi256_si128(high));
        const __m128i hi = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(q, 4), low4), _mm256_extracti128_si256(high, 1));
        store_i8x16_scaled(y, _mm_sub_epi8(lo, sixteen), d);
        store_i8x16_scaled(y + 16, _mm_sub_epi8(hi, sixteen), d);
    }
}

AVX2 static void dequantize_q8_0_avx2(const void *vx, float *y, int64_t n) {
    const block_q8_0 *x = vx;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const __m256 d = _mm256_set1_ps(CK_FP16(x[i].d));
        store_i8x16_scaled(y, _mm_loadu_si128((const __m128i *)x[i].qs), d);
        store_i8x16_scaled(y + 16, _mm_loadu_si128((const __m128i *)(x[i].qs + 16)), d);
    }
}

void ck_fill_avx2(ck_kernel_table *t) {
    t->exp_shifted = ck_exp_shifted_avx2;
    t->swiglu = ck_swiglu_avx2;
    t->scale_max = ck_scale_max_avx2;
    t->attention_f32 = ck_attention_f32_avx2;
    t->dot_rows_ggml = dot_rows_ggml_avx2;
    t->dot_rows_ggml_lanes = 8;
    t->softmax_exp_ggml = ck_softmax_exp_ggml_avx2;
    t->vec_dot_rows_ggml = vec_dot_rows_ggml_avx2;
    t->vec_dot_rows_ggml_step = 32;
    t->gemv_ggml[CK_TYPE_Q4_0] = gemv_q4_0_ggml_avx2;
    t->gelu_fp16 = gelu_fp16_table_avx2;
    t->fp16_to_fp32 = fp16_to_fp32_avx2;
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
    t->prep[CK_TYPE_F16] = prep_f16_avx2;
    t->mul_mat[CK_TYPE_Q4_0] = mul_mat_q4_0_avx2;
    t->mul_mat[CK_TYPE_Q5_0] = mul_mat_q5_0_avx2;
    t->mul_mat[CK_TYPE_Q8_0] = mul_mat_q8_0_avx2;
    t->dequantize[CK_TYPE_Q4_0] = dequantize_q4_0_avx2;
    t->dequantize[CK_TYPE_Q5_0] = dequantize_q5_0_avx2;
    t->dequantize[CK_TYPE_Q8_0] = dequantize_q8_0_avx2;
}

void ck_fill_avx512vnni(ck_kernel_table *t) {
    t->exp_shifted = ck_exp_shifted_avx512;
    t->swiglu = ck_swiglu_avx512;
    t->attention_f32 = ck_attention_f32_avx512;
    t->dot_rows_ggml = dot_rows_ggml_avx512;
    t->dot_rows_ggml_lanes = 16;
    t->softmax_exp_ggml = ck_softmax_exp_ggml_avx512;
    t->vec_dot_rows_ggml = vec_dot_rows_ggml_avx512;
    t->vec_dot_rows_ggml_step = 64;
    t->gemv_ggml[CK_TYPE_Q4_0] = gemv_q4_0_ggml_vnni;
    t->dot[CK_TYPE_F16] = dot_f16_avx512;
    t->mul_mat[CK_TYPE_F16] = mul_mat_f16_avx512;
    t->dot[CK_TYPE_Q4_0] = dot_q4_0_vnni;
    t->dot[CK_TYPE_Q5_0] = dot_q5_0_vnni;
    t->dot[CK_TYPE_Q8_0] = dot_q8_0_vnni;
    t->mul_mat[CK_TYPE_Q4_0] = mul_mat_q4_0_zmm;
    t->mul_mat[CK_TYPE_Q5_0] = mul_mat_q5_0_zmm;
    t->mul_mat[CK_TYPE_Q8_0] = mul_mat_q8_0_zmm;
    ck_gemm_fill_avx512vnni(t);
}
#endif
