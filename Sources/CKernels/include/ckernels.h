#pragma once
// CKernels: the innermost quantized block dot products, activation quantization and type
// conversions of EdgeVLM, in C with intrinsics (Swift cannot emit vpmaddubsw/vpdpbusd/sdot).
// Everything around them (tiling, threading, the other ops) is Swift, in module Kernels.
//
// Block layouts and the activation quantizers follow ggml exactly (same rounding), so results
// match llama.cpp's CPU backend up to float summation order.
//
// Types are identified by their ggml type code (enum ggml_type). Each quantized weight type
// has an activation ("vec dot") type, as in ggml: Q4_0/Q5_0/Q8_0 -> Q8_0, Q4_1/Q5_1 -> Q8_1,
// K-quants -> Q8_K, F16 -> F16, BF16 -> BF16, F32 -> F32.
//
// Instruction sets: chosen at run time on x86-64 (cpuid), at build time on aarch64
// (__ARM_FEATURE_DOTPROD, or per-function target attributes when CK_ARM_RUNTIME_DOTPROD).
#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CK_TYPE_F32 = 0, CK_TYPE_F16 = 1, CK_TYPE_Q4_0 = 2, CK_TYPE_Q4_1 = 3, CK_TYPE_Q5_0 = 6,
    CK_TYPE_Q5_1 = 7, CK_TYPE_Q8_0 = 8, CK_TYPE_Q8_1 = 9, CK_TYPE_Q2_K = 10, CK_TYPE_Q3_K = 11,
    CK_TYPE_Q4_K = 12, CK_TYPE_Q5_K = 13, CK_TYPE_Q6_K = 14, CK_TYPE_Q8_K = 15, CK_TYPE_BF16 = 30,
};

/// Instruction-set levels of the dispatched kernels.
enum {
    CK_ISA_SCALAR = 0,      // portable C
    CK_ISA_AVX2 = 1,        // x86-64 AVX2 + FMA + F16C
    CK_ISA_AVX512VNNI = 2,  // AVX2 kernels with vpdpbusd on ymm (AVX512-VL + VNNI)
    CK_ISA_NEON = 10,       // aarch64 NEON
    CK_ISA_NEON_DOTPROD = 11, // aarch64 NEON + sdot
};

/// Best instruction-set level this CPU supports (detected once).
int ck_isa_best(void);
/// Level in use on the calling thread: its own (ck_isa_set_thread) if it has one, else the
/// process-wide level, which starts at ck_isa_best().
int ck_isa_current(void);
/// Selects the process-wide level (benchmarks); levels above ck_isa_best() are clamped.
/// Returns the level now in use. Safe while kernels run: each call uses one whole table.
int ck_isa_set(int level);
/// Selects a level for the calling thread only (tests compare paths with it while other
/// threads run kernels); a negative level returns the thread to the process-wide one.
/// Returns the thread's level, or -1 when it follows the process-wide level.
int ck_isa_set_thread(int level);
/// The calling thread's own level, or -1 when it follows the process-wide level.
int ck_isa_thread(void);
/// Human-readable name of a level.
const char *ck_isa_name(int level);
/// x86-64 vector width this CPU offers for third-party kernels (OpenBLAS core choice):
/// 2 = AVX-512 F/CD/BW/DQ/VL, 1 = AVX2 + FMA, 0 = neither (or not x86-64).
int ck_x86_vector_level(void);

/// 1 when `type` has a dot kernel here, 0 otherwise.
int ck_type_supported(int type);
/// Elements per block of `type` (1 for F32/F16/BF16), 0 if unsupported.
int ck_block_size(int type);
/// Bytes per block of `type`, 0 if unsupported.
int ck_block_bytes(int type);
/// Activation type the dot kernel of weight `type` expects.
int ck_activation_type(int type);
/// Bytes of one activation row of `n` elements for weight `type` (n a multiple of its block).
size_t ck_activation_row_bytes(int type, int64_t n);

/// Quantizes/converts `n` floats into the activation format of weight `type`.
void ck_prepare_activation(int type, const float *x, void *y, int64_t n);
/// Scalar twin of ck_prepare_activation (identical output by contract).
void ck_prepare_activation_ref(int type, const float *x, void *y, int64_t n);

/// Dot product of one weight row (`n` elements of `type`) with one prepared activation row.
float ck_vec_dot(int type, int64_t n, const void *w, const void *a);
/// Portable scalar twin of ck_vec_dot: same integer block sums, sequential float accumulation.
float ck_vec_dot_ref(int type, int64_t n, const void *w, const void *a);

/// out[b*out_stride + r] = dot(row r of w, activation b) for r < nrows, b < batch.
/// Rows are `row_bytes` apart, activations `act_bytes` apart.
void ck_mul_mat(int type, int64_t n, const void *w, size_t row_bytes, int64_t nrows,
                const void *act, size_t act_bytes, int64_t batch, float *out, int64_t out_stride);

/// Integer GEMM for prompt-sized batches (Q4_0, Q5_0, Q8_0 weights; AVX-512 VNNI): the products
/// of ck_mul_mat, with each 32-row weight strip repacked once into `scratch` so that one vpdpbusd
/// advances 16 rows. Per (row, activation) the block sums are accumulated in block order,
/// acc = fma(d_w·d_a, Σ, acc), so results differ from ck_mul_mat's tiles by float summation
/// order only and equal ck_gemm_ref bit for bit.
/// 1 when `type` has a vector ck_gemm kernel at the current level (else ck_gemm runs the twin).
int ck_gemm_supported(int type);
/// Bytes of ck_gemm_prepare's output per activation row of `n` elements.
size_t ck_gemm_side_row_bytes(int64_t n);
/// Bytes of the `scratch` one ck_gemm call needs (one packed strip).
size_t ck_gemm_strip_bytes(int64_t n);
/// Per prepared Q8_0 activation row and block: the integer seed −β·Σa that removes the
/// unsigned weights' bias β, and the block scale as a float; `rows` rows into `side`.
void ck_gemm_prepare(int type, int64_t n, const void *act, size_t act_bytes, int64_t rows, void *side);
/// out[b*out_stride + r] = dot(row r of w, activation b), as ck_mul_mat, for `batch` activation
/// rows prepared by ck_prepare_activation and their `side` from ck_gemm_prepare.
void ck_gemm(int type, int64_t n, const void *w, size_t row_bytes, int64_t nrows, const void *act, size_t act_bytes,
             const void *side, int64_t batch, float *out, int64_t out_stride, void *scratch);
/// Scalar twin of ck_gemm (no scratch).
void ck_gemm_ref(int type, int64_t n, const void *w, size_t row_bytes, int64_t nrows, const void *act,
                 size_t act_bytes, const void *side, int64_t batch, float *out, int64_t out_stride);

/// Decodes `n` elements of `type` (a multiple of its block size) to floats. Vectorised for the
/// common quantized types; bit-identical to ck_dequantize_row_ref.
void ck_dequantize_row(int type, const void *x, float *y, int64_t n);
/// Scalar twin of ck_dequantize_row.
void ck_dequantize_row_ref(int type, const void *x, float *y, int64_t n);
/// Expands one prepared activation row of weight `type` (the output of ck_prepare_activation)
/// back to `n` floats: the values the integer dot products multiply, so a float GEMM over them
/// and the dequantized weights computes what ck_mul_mat computes, up to float rounding.
void ck_expand_activation(int type, const void *a, float *y, int64_t n);

/// Conversions. fp16 follows IEEE binary16 round-to-nearest-even; bf16 follows ggml
/// (round to nearest even, NaN kept quiet).
float ck_fp16_to_fp32(uint16_t h);
uint16_t ck_fp32_to_fp16(float f);
void ck_fp16_to_fp32_row(const uint16_t *x, float *y, int64_t n);
void ck_fp32_to_fp16_row(const float *x, uint16_t *y, int64_t n);
float ck_bf16_to_fp32(uint16_t h);
uint16_t ck_fp32_to_bf16(float f);

/// ggml's GELU with its fp16 lookup table (GGML_GELU_FP16): x rounded to fp16, table of
/// fp16 results of the tanh approximation; |x| >= 10 short-circuits (x or 0).
void ck_gelu_fp16_table(const float *x, float *y, int64_t n);
/// Scalar twin of ck_gelu_fp16_table (the vector levels must match it bit for bit).
void ck_gelu_fp16_table_ref(const float *x, float *y, int64_t n);

/// Softmax exponentials: y[i] = exp(x[i] - shift) for n floats (in place allowed), returning
/// their sum in double. Vectorised (within 2 ulp of expf; exactly 0 for x - shift < -87.3).
double ck_exp_shifted(float *y, const float *x, int64_t n, float shift);
/// Scalar twin of ck_exp_shifted with libm's expf.
double ck_exp_shifted_ref(float *y, const float *x, int64_t n, float shift);
/// SwiGLU: y[i] = g[i] / (1 + exp(−g[i])) · u[i] for n floats (y may alias g or u). Vectorised on
/// ck_exp_shifted's exponential (within a few ulp of the libm twin).
void ck_swiglu(float *y, const float *g, const float *u, int64_t n);
/// Scalar twin of ck_swiglu with libm's expf.
void ck_swiglu_ref(float *y, const float *g, const float *u, int64_t n);
/// Softmax's first pass: y[i] = x[i]·scale + mask[i] (mask may be NULL) for n floats (in place
/// allowed), returning the largest y (-inf when n is 0). Vectorised; exact (one rounding each).
float ck_scale_max(float *y, const float *x, const float *mask, int64_t n, float scale);
/// Scalar twin of ck_scale_max.
float ck_scale_max_ref(float *y, const float *x, const float *mask, int64_t n, float scale);

/// Lanes of llama.cpp's order for fp16 attention products at the current level (16 AVX-512,
/// 8 AVX2), 0 where there is none (scalar, NEON): then ck_dot_rows_ggml must not be called.
int ck_dot_rows_ggml_lanes(void);
/// out[r] = a · b[r] (rows of `n` floats, `n` a multiple of the lanes, b rows `b_stride` apart)
/// in llama.cpp's order: lane m accumulates elements m, m+lanes, ... by FMA, then ggml's
/// horizontal sum.
void ck_dot_rows_ggml(const float *a, const float *b, int64_t b_stride, int64_t rows, int64_t n, float *out);
/// Whether ck_gemv_ggml exists for `type` at the current level (x86: Q4_0).
int ck_gemv_ggml_supported(int type);
/// As ck_mul_mat, in the order llama.cpp's decode uses for `type` (Q4_0: its repacked gemv,
/// one integer sum per block and row, acc = fma(Σ, d_w·d_a, acc)).
void ck_gemv_ggml(int type, int64_t n, const void *w, size_t row_bytes, int64_t nrows,
                  const void *act, size_t act_bytes, int64_t batch, float *out, int64_t out_stride);
/// Step of ggml_vec_dot_f16 at the current level (64 AVX-512, 32 AVX2; 0: none).
int ck_vec_dot_rows_ggml_step(void);
/// out[r] = a · b[r] in ggml_vec_dot_f16's order (ggml's products with one column, i.e.
/// attention while decoding one token); `n` a multiple of ck_vec_dot_rows_ggml_step().
void ck_vec_dot_rows_ggml(const float *a, const float *b, int64_t b_stride, int64_t rows, int64_t n, float *out);
/// Softmax exponentials as llama.cpp computes them at the current level: y = exp(x − max) with
/// ggml's vector exponential, returning the sum in ggml_vec_soft_max_f32's order. `n` is a
/// multiple of ck_dot_rows_ggml_lanes() (pad with −inf); only where that is not 0.
double ck_softmax_exp_ggml(float *y, const float *x, int64_t n, float max);
/// Floats of scratch one ck_attention_f32 call needs (keys and values packed, score strip).
int64_t ck_attention_f32_scratch(int64_t n_kv, int64_t d);
/// One head of attention without mask, every query row seeing every key (Float32):
/// out[r] = softmax(scale · q[r]·kᵀ)·v for `rows` query rows of width d against n_kv keys and
/// values (row strides in floats). Softmax subtracts the row maximum and divides once per
/// output. `scratch` holds ck_attention_f32_scratch(n_kv, d) floats.
void ck_attention_f32(const float *q, int64_t q_stride, int64_t rows, const float *k, int64_t k_stride,
                      const float *v, int64_t v_stride, int64_t n_kv, int64_t d, float scale,
                      float *out, int64_t out_stride, float *scratch);
/// Scalar twin of ck_attention_f32 (libm's expf; scratch of n_kv floats suffices).
void ck_attention_f32_ref(const float *q, int64_t q_stride, int64_t rows, const float *k, int64_t k_stride,
                          const float *v, int64_t v_stride, int64_t n_kv, int64_t d, float scale,
                          float *out, int64_t out_stride, float *scratch);

/// Streams `bytes` bytes (read only) and returns a checksum so the reads are not elided.
uint64_t ck_stream_read(const void *p, size_t bytes);

/// A spin-wait hint (x86 `pause`, ARM `yield`) for busy-wait loops.
static inline void ck_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#ifdef __cplusplus
}
#endif
