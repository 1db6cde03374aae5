// Test driver for the aarch64 C kernels, run under qemu by scripts/checks/arm-kernels.sh:
// every NEON and NEON+dotprod kernel against the portable scalar reference on random data
// (odd row counts, several blocks, all-zero blocks). Exit status 1 on any mismatch.
#include "ckernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint32_t next_u32(void) {
    state ^= state << 13; state ^= state >> 7; state ^= state << 17;
    return (uint32_t)(state >> 16);
}
static float next_normal(void) {
    float s = 0;
    for (int i = 0; i < 12; i++) s += (float)(next_u32() & 0xFFFF) / 65536.0f;
    return s - 6.0f;
}

typedef struct { int type; const char *name; int offsets[2]; int noffsets; } type_info;
static const type_info types[] = {
    {CK_TYPE_F32, "f32", {0}, 0}, {CK_TYPE_F16, "f16", {0}, 0}, {CK_TYPE_BF16, "bf16", {0}, 0},
    {CK_TYPE_Q4_0, "q4_0", {0}, 1}, {CK_TYPE_Q4_1, "q4_1", {0, 2}, 2}, {CK_TYPE_Q5_0, "q5_0", {0}, 1},
    {CK_TYPE_Q5_1, "q5_1", {0, 2}, 2}, {CK_TYPE_Q8_0, "q8_0", {0}, 1}, {CK_TYPE_Q2_K, "q2_K", {80, 82}, 2},
    {CK_TYPE_Q3_K, "q3_K", {108}, 1}, {CK_TYPE_Q4_K, "q4_K", {0, 2}, 2}, {CK_TYPE_Q5_K, "q5_K", {0, 2}, 2},
    {CK_TYPE_Q6_K, "q6_K", {208}, 1},
};

static void fill_weights(const type_info *t, uint8_t *w, int64_t rows, int64_t cols) {
    const int bs = ck_block_size(t->type), bb = ck_block_bytes(t->type);
    const int64_t blocks = rows * cols / bs;
    if (t->type == CK_TYPE_F32) { float *f = (float *)w; for (int64_t i = 0; i < rows * cols; i++) f[i] = next_normal(); return; }
    if (t->type == CK_TYPE_F16) { uint16_t *h = (uint16_t *)w; for (int64_t i = 0; i < rows * cols; i++) h[i] = ck_fp32_to_fp16(next_normal()); return; }
    if (t->type == CK_TYPE_BF16) { uint16_t *h = (uint16_t *)w; for (int64_t i = 0; i < rows * cols; i++) h[i] = ck_fp32_to_bf16(next_normal()); return; }
    for (int64_t i = 0; i < blocks * bb; i++) w[i] = (uint8_t)next_u32();
    for (int64_t b = 0; b < blocks; b++)
        for (int k = 0; k < t->noffsets; k++) {
            const uint16_t h = ck_fp32_to_fp16(0.002f + 0.02f * (float)(next_u32() & 0xFFFF) / 65536.0f);
            memcpy(w + b * bb + t->offsets[k], &h, 2);
        }
}

int main(void) {
    int failures = 0, checks = 0;
    const int levels[] = {CK_ISA_NEON, CK_ISA_NEON_DOTPROD};
    printf("best ISA: %s\n", ck_isa_name(ck_isa_best()));
    // Shapes that hit every register tile of the tiled products (4x3 interior, 1..3 edges).
    const int64_t shapes[][2] = {{7, 3}, {9, 5}, {1, 1}, {6, 4}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
    for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
        const type_info *t = &types[ti];
        const int bs = ck_block_size(t->type) == 1 ? 37 : ck_block_size(t->type);
        const int64_t rows = shapes[si][0], batch = shapes[si][1], cols = (int64_t)bs * 3;
        const size_t row_bytes = (size_t)(cols / ck_block_size(t->type)) * (size_t)ck_block_bytes(t->type);
        uint8_t *w = malloc(row_bytes * rows);
        fill_weights(t, w, rows, cols);
        float *x = malloc(sizeof(float) * cols * batch);
        for (int64_t i = 0; i < cols * batch; i++) x[i] = next_normal();
        for (int64_t i = 0; i < 32; i++) x[i] = 0; // one all-zero block
        const size_t ab = ck_activation_row_bytes(t->type, cols);
        uint8_t *a = malloc(ab * batch), *aref = malloc(ab * batch);
        float *deq = malloc(sizeof(float) * cols);
        float *out = malloc(sizeof(float) * rows * batch), *ref = malloc(sizeof(float) * rows * batch);
        for (size_t li = 0; li < 2; li++) {
            const int level = ck_isa_set(levels[li]);
            if (level != levels[li]) { printf("skip %s: level %s unavailable\n", t->name, ck_isa_name(levels[li])); continue; }
            for (int64_t b = 0; b < batch; b++) {
                ck_prepare_activation(t->type, x + b * cols, a + b * ab, cols);
                ck_prepare_activation_ref(t->type, x + b * cols, aref + b * ab, cols);
            }
            checks++;
            if (memcmp(a, aref, ab * batch) != 0) { printf("FAIL %s %s: activation bytes differ\n", t->name, ck_isa_name(level)); failures++; }
            ck_mul_mat(t->type, cols, w, row_bytes, rows, aref, ab, batch, out, rows);
            // A result must not depend on the batch it was computed in (decode vs prefill).
            for (int64_t b = 0; b < batch; b++) {
                ck_mul_mat(t->type, cols, w, row_bytes, rows, aref + b * ab, ab, 1, ref, rows);
                checks++;
                if (memcmp(ref, out + b * rows, sizeof(float) * (size_t)rows) != 0) {
                    printf("FAIL %s %s: batch %lld of %lld differs from the same row computed alone\n", t->name,
                           ck_isa_name(level), (long long)b, (long long)batch);
                    failures++;
                }
            }
            // The vectorised weight decoding (SGEMM route) equals the scalar twin bit for bit.
            {
                float *deq_ref = malloc(sizeof(float) * cols);
                for (int64_t r = 0; r < rows; r++) {
                    ck_dequantize_row(t->type, w + r * row_bytes, deq, cols);
                    ck_dequantize_row_ref(t->type, w + r * row_bytes, deq_ref, cols);
                    checks++;
                    if (memcmp(deq, deq_ref, sizeof(float) * (size_t)cols) != 0) {
                        printf("FAIL %s %s: dequantized row %lld differs from the scalar twin\n", t->name, ck_isa_name(level), (long long)r);
                        failures++;
                    }
                }
                free(deq_ref);
            }
            for (int64_t r = 0; r < rows; r++) {
                ck_dequantize_row(t->type, w + r * row_bytes, deq, cols);
                for (int64_t b = 0; b < batch; b++) {
                    const float want = ck_vec_dot_ref(t->type, cols, w + r * row_bytes, aref + b * ab);
                    double mag = 0;
                    for (int64_t c = 0; c < cols; c++) mag += fabs((double)deq[c] * x[b * cols + c]);
                    const float got = out[b * rows + r];
                    checks++;
                    if (!(fabs((double)got - want) <= 2e-5 * mag + 1e-6)) {
                        printf("FAIL %s %s row %lld batch %lld: %.7g vs reference %.7g\n", t->name, ck_isa_name(level),
                               (long long)r, (long long)b, got, want);
                        failures++;
                    }
                }
            }
        }
        free(w); free(x); free(a); free(aref); free(deq); free(out); free(ref);
    }
    // fp16 -> fp32 row conversion (NEON vcvt) against the bit-exact scalar conversion.
    for (size_t li = 0; li < 2; li++) {
        if (ck_isa_set(levels[li]) != levels[li]) continue;
        uint16_t h[1027]; float f[1027];
        for (int i = 0; i < 1027; i++) { h[i] = (uint16_t)next_u32(); if ((h[i] & 0x7C00) == 0x7C00) h[i] &= 0xBFFF; }
        ck_fp16_to_fp32_row(h, f, 1027);
        for (int i = 0; i < 1027; i++) {
            checks++;
            if (f[i] != ck_fp16_to_fp32(h[i])) { printf("FAIL fp16 row %s at %d: %g vs %g\n", ck_isa_name(levels[li]), i, f[i], ck_fp16_to_fp32(h[i])); failures++; break; }
        }
    }
    // Vectorised softmax exponentials against libm's expf (2 ulp), including masked -inf scores.
    {
        float x[1001], y[1001], r[1001];
        for (int i = 0; i < 1001; i++) x[i] = -95.0f + 100.0f * (float)i / 1000.0f;
        x[3] = -INFINITY;
        const double sum = ck_exp_shifted(y, x, 1001, 2.0f), want = ck_exp_shifted_ref(r, x, 1001, 2.0f);
        for (int i = 0; i < 1001; i++) {
            checks++;
            const double allowed = r[i] * 3e-7 + 1e-37;
            if (!(fabs((double)y[i] - r[i]) <= allowed)) { printf("FAIL exp at %d: %g vs %g\n", i, y[i], r[i]); failures++; break; }
        }
        checks++;
        if (!(fabs(sum - want) <= want * 1e-6)) { printf("FAIL exp sum %g vs %g\n", sum, want); failures++; }
    }
    // SwiGLU on the same exponential against libm, odd length, saturated tails included.
    {
        float g[1003], u[1003], y[1003], r[1003];
        for (int i = 0; i < 1003; i++) { g[i] = -12.0f + 24.0f * (float)i / 1002.0f; u[i] = (float)((i * 31) % 17) / 4.0f - 2.0f; }
        g[5] = 100.0f; g[6] = -100.0f; g[7] = -1e30f;
        ck_swiglu(y, g, u, 1003);
        ck_swiglu_ref(r, g, u, 1003);
        for (int i = 0; i < 1003; i++) {
            checks++;
            if (!(fabs((double)y[i] - r[i]) <= fabs((double)r[i]) * 6e-7 + 1e-30)) { printf("FAIL swiglu at %d: %g vs %g\n", i, y[i], r[i]); failures++; break; }
        }
    }
    // Softmax's scale + mask + maximum pass against its scalar twin (exact), odd length.
    {
        float x[1003], m[1003], y[1003], r[1003];
        for (int i = 0; i < 1003; i++) { x[i] = (float)((i * 7919) % 1009) / 97.0f - 5.0f; m[i] = (i % 5 == 0) ? -INFINITY : 0.25f; }
        for (int withMask = 0; withMask < 2; withMask++) {
            const float got = ck_scale_max(y, x, withMask ? m : NULL, 1003, 0.125f);
            const float want = ck_scale_max_ref(r, x, withMask ? m : NULL, 1003, 0.125f);
            checks++;
            if (got != want || memcmp(y, r, sizeof y) != 0) { printf("FAIL scale_max (mask %d): %g vs %g\n", withMask, got, want); failures++; }
        }
    }
    // Fused attention (vision encoder, resampler) against its scalar twin: partial score tiles
    // (37 rows), keys not a multiple of 32 (45), a value width with a partial chunk (72).
    {
        enum { T = 37, N = 45, D = 72 };
        static float q[T * D], k[N * D], v[N * D], out[T * D], want[T * D];
        for (int i = 0; i < T * D; i++) q[i] = (float)((int)(next_u32() % 2001) - 1000) / 400.0f;
        for (int i = 0; i < N * D; i++) { k[i] = (float)((int)(next_u32() % 2001) - 1000) / 400.0f; v[i] = (float)((int)(next_u32() % 2001) - 1000) / 1000.0f; }
        float *scratch = malloc(sizeof(float) * (size_t)ck_attention_f32_scratch(N, D));
        float ref_scratch[N];
        ck_attention_f32_ref(q, D, T, k, D, v, D, N, D, 0.117851f, want, D, ref_scratch);
        for (size_t li = 0; li < 2; li++) {
            if (ck_isa_set(levels[li]) != levels[li]) continue;
            ck_attention_f32(q, D, T, k, D, v, D, N, D, 0.117851f, out, D, scratch);
            double worst = 0;
            for (int i = 0; i < T * D; i++) { const double e = fabs((double)out[i] - want[i]); if (!(e <= worst)) worst = e; }
            checks++;
            if (!(worst <= 1e-5)) { printf("FAIL attention %s: worst abs error %g\n", ck_isa_name(levels[li]), worst); failures++; }
        }
        free(scratch);
    }
    // The strip-packed integer GEMM (sdot) against its scalar twin, bit for bit: partial strips
    // (45 rows: a partial 8-row group), every activation-tile remainder (batch 7), 3 blocks.
    {
        const int gemm_types[] = {CK_TYPE_Q4_0, CK_TYPE_Q5_0, CK_TYPE_Q8_0};
        enum { ROWS = 45, BATCH = 7, COLS = 96 };
        for (int gi = 0; gi < 3; gi++) {
            const type_info *t = NULL;
            for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) if (types[ti].type == gemm_types[gi]) t = &types[ti];
            const size_t row_bytes = (size_t)(COLS / 32) * (size_t)ck_block_bytes(t->type);
            uint8_t *w = malloc(row_bytes * ROWS);
            fill_weights(t, w, ROWS, COLS);
            static float x[BATCH * COLS];
            for (int i = 0; i < BATCH * COLS; i++) x[i] = next_normal();
            const size_t ab = ck_activation_row_bytes(t->type, COLS), sb = ck_gemm_side_row_bytes(COLS);
            uint8_t *a = malloc(ab * BATCH), *side = malloc(sb * BATCH);
            for (int b = 0; b < BATCH; b++) ck_prepare_activation_ref(t->type, x + b * COLS, a + b * ab, COLS);
            ck_gemm_prepare(t->type, COLS, a, ab, BATCH, side);
            void *scratch = aligned_alloc(64, (ck_gemm_strip_bytes(COLS) + 63) / 64 * 64);
            static float out[BATCH * ROWS], want[BATCH * ROWS];
            ck_gemm_ref(t->type, COLS, w, row_bytes, ROWS, a, ab, side, BATCH, want, ROWS);
            for (size_t li = 0; li < 2; li++) {
                if (ck_isa_set(levels[li]) != levels[li]) continue;
                for (int i = 0; i < BATCH * ROWS; i++) out[i] = NAN;
                ck_gemm(t->type, COLS, w, row_bytes, ROWS, a, ab, side, BATCH, out, ROWS, scratch);
                checks++;
                if (memcmp(out, want, sizeof out) != 0) {
                    printf("FAIL gemm %s %s (vector kernel %d): differs from the scalar twin\n", t->name,
                           ck_isa_name(levels[li]), ck_gemm_supported(t->type));
                    failures++;
                }
            }
            free(w); free(a); free(side); free(scratch);
        }
    }
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
