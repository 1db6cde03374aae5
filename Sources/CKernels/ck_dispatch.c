// Run-time selection of the kernel table and the public entry points of CKernels.
#include "ck_internal.h"
#include <pthread.h>
#include <stdatomic.h>

void ck_prep_bf16(const float *x, void *y, int64_t n);

// One immutable table per level, filled once; the level in use is a pointer to one of them,
// swapped atomically. Kernels run on many threads while tests and benchmarks switch levels:
// filling the live table in place let a concurrent caller jump through a zeroed entry.
enum { LEVEL_SLOTS = 3 };
static ck_kernel_table table_scalar, tables[LEVEL_SLOTS];
static int isa_best = CK_ISA_SCALAR;
static _Atomic(const ck_kernel_table *) table_current_ptr;
static _Atomic int isa_current = CK_ISA_SCALAR;
// A thread's own level (tests), and its table; NULL: the process-wide one.
static _Thread_local const ck_kernel_table *thread_table;
static _Thread_local int thread_isa = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void fill_level(ck_kernel_table *t, int level) {
    ck_fill_scalar(t);
#if defined(__x86_64__)
    if (level >= CK_ISA_AVX2) ck_fill_avx2(t);
    if (level >= CK_ISA_AVX512VNNI) ck_fill_avx512vnni(t);
#elif defined(__aarch64__)
    if (level >= CK_ISA_NEON) ck_fill_neon(t);
    if (level >= CK_ISA_NEON_DOTPROD) ck_fill_neon_dotprod(t);
#else
    (void)level;
#endif
}

// The table slot of a level this build knows (scalar: 0).
static int level_slot(int level) {
    switch (level) {
#if defined(__x86_64__)
    case CK_ISA_AVX2: return 1;
    case CK_ISA_AVX512VNNI: return 2;
#elif defined(__aarch64__)
    case CK_ISA_NEON: return 1;
    case CK_ISA_NEON_DOTPROD: return 2;
#endif
    default: return 0;
    }
}

static void init_once(void) {
    ck_tables_init();
    ck_fill_scalar(&table_scalar);
    int best = CK_ISA_SCALAR;
#if defined(__x86_64__)
    if (ck_x86_has_avx2()) best = CK_ISA_AVX2;
    if (best == CK_ISA_AVX2 && ck_x86_has_avx512vnni()) best = CK_ISA_AVX512VNNI;
    const int levels[LEVEL_SLOTS] = {CK_ISA_SCALAR, CK_ISA_AVX2, CK_ISA_AVX512VNNI};
#elif defined(__aarch64__)
    best = CK_ISA_NEON;
    if (ck_arm_has_dotprod()) best = CK_ISA_NEON_DOTPROD;
    const int levels[LEVEL_SLOTS] = {CK_ISA_SCALAR, CK_ISA_NEON, CK_ISA_NEON_DOTPROD};
#else
    const int levels[LEVEL_SLOTS] = {CK_ISA_SCALAR, CK_ISA_SCALAR, CK_ISA_SCALAR};
#endif
    isa_best = best;
    // Only levels up to the best are filled: the others would select unsupported instructions.
    for (int i = 0; i < LEVEL_SLOTS; i++) fill_level(&tables[i], levels[i] <= best ? levels[i] : CK_ISA_SCALAR);
    atomic_store(&table_current_ptr, &tables[level_slot(best)]);
    atomic_store(&isa_current, best);
}

static inline void ensure(void) { pthread_once(&once, init_once); }
void ck_ensure_init(void) { ensure(); }

// The table of the level in use on this thread: one consistent snapshot per call.
static inline const ck_kernel_table *current_table(void) {
    const ck_kernel_table *own = thread_table;
    return own ? own : atomic_load_explicit(&table_current_ptr, memory_order_acquire);
}

int ck_isa_best(void) { ensure(); return isa_best; }
int ck_isa_current(void) { ensure(); return thread_isa >= 0 ? thread_isa : atomic_load(&isa_current); }

static int clamp_level(int level);

int ck_isa_set(int level) {
    ensure();
    const int chosen = clamp_level(level);
    atomic_store_explicit(&table_current_ptr, &tables[level_slot(chosen)], memory_order_release);
    atomic_store(&isa_current, chosen);
    return chosen;
}

int ck_isa_set_thread(int level) {
    ensure();
    if (level < 0) {
        thread_table = NULL;
        thread_isa = -1;
        return -1;
    }
    thread_isa = clamp_level(level);
    thread_table = &tables[level_slot(thread_isa)];
    return thread_isa;
}

int ck_isa_thread(void) { return thread_isa; }

// A level this build and CPU can run: unknown levels become scalar, higher ones the best.
static int clamp_level(int level) {
    int chosen = level;
#if defined(__x86_64__)
    if (chosen != CK_ISA_SCALAR && chosen != CK_ISA_AVX2 && chosen != CK_ISA_AVX512VNNI) chosen = CK_ISA_SCALAR;
#elif defined(__aarch64__)
    if (chosen != CK_ISA_NEON && chosen != CK_ISA_NEON_DOTPROD) chosen = CK_ISA_SCALAR;
#else
    chosen = CK_ISA_SCALAR;
#endif
    if (chosen > isa_best) chosen = isa_best;
    return chosen;
}

int ck_x86_vector_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}

const char *ck_isa_name(int level) {
    switch (level) {
    case CK_ISA_SCALAR: return "scalar";
    case CK_ISA_AVX2: return "avx2";
    case CK_ISA_AVX512VNNI: return "avx2+avx512vnni";
    case CK_ISA_NEON: return "neon";
    case CK_ISA_NEON_DOTPROD: return "neon+dotprod";
    default: return "unknown";
    }
}

int ck_block_size(int type) {
    switch (type) {
    case CK_TYPE_F32: case CK_TYPE_F16: case CK_TYPE_BF16: return 1;
    case CK_TYPE_Q4_0: case CK_TYPE_Q4_1: case CK_TYPE_Q5_0: case CK_TYPE_Q5_1:
    case CK_TYPE_Q8_0: case CK_TYPE_Q8_1: return 32;
    case CK_TYPE_Q2_K: case CK_TYPE_Q3_K: case CK_TYPE_Q4_K: case CK_TYPE_Q5_K:
    case CK_TYPE_Q6_K: case CK_TYPE_Q8_K: return QK_K;
    default: return 0;
    }
}

int ck_block_bytes(int type) {
    switch (type) {
    case CK_TYPE_F32: return 4;
    case CK_TYPE_F16: case CK_TYPE_BF16: return 2;
    case CK_TYPE_Q4_0: return 18;
    case CK_TYPE_Q4_1: return 20;
    case CK_TYPE_Q5_0: return 22;
    case CK_TYPE_Q5_1: return 24;
    case CK_TYPE_Q8_0: return 34;
    case CK_TYPE_Q8_1: return 36;
    case CK_TYPE_Q2_K: return 84;
    case CK_TYPE_Q3_K: return 110;
    case CK_TYPE_Q4_K: return 144;
    case CK_TYPE_Q5_K: return 176;
    case CK_TYPE_Q6_K: return 210;
    case CK_TYPE_Q8_K: return 292;
    default: return 0;
    }
}

int ck_type_supported(int type) {
    return type != CK_TYPE_Q8_1 && type != CK_TYPE_Q8_K && ck_block_size(type) != 0;
}

int ck_activation_type(int type) {
    switch (type) {
    case CK_TYPE_F32: return CK_TYPE_F32;
    case CK_TYPE_F16: return CK_TYPE_F16;
    case CK_TYPE_BF16: return CK_TYPE_BF16;
    case CK_TYPE_Q4_0: case CK_TYPE_Q5_0: case CK_TYPE_Q8_0: return CK_TYPE_Q8_0;
    case CK_TYPE_Q4_1: case CK_TYPE_Q5_1: return CK_TYPE_Q8_1;
    default: return CK_TYPE_Q8_K;
    }
}

size_t ck_activation_row_bytes(int type, int64_t n) {
    // F16 weights: ggml rounds activations to fp16; they are kept widened to F32 here so each
    // weight row's dot product converts only the weights (decode was bound by the conversions).
    if (type == CK_TYPE_F16) return (size_t)n * 4;
    const int at = ck_activation_type(type);
    return (size_t)(n / ck_block_size(at)) * (size_t)ck_block_bytes(at);
}

static void prepare_with(const ck_kernel_table *t, int type, const float *x, void *y, int64_t n) {
    const int at = ck_activation_type(type);
    if (at == CK_TYPE_F32) { memcpy(y, x, (size_t)n * 4); return; }
    if (at == CK_TYPE_BF16) { ck_prep_bf16(x, y, n); return; }
    t->prep[at](x, y, n);
}

void ck_prepare_activation(int type, const float *x, void *y, int64_t n) {
    ensure();
    prepare_with(current_table(), type, x, y, n);
}

void ck_prepare_activation_ref(int type, const float *x, void *y, int64_t n) {
    ensure();
    prepare_with(&table_scalar, type, x, y, n);
}

ck_convert_fn ck_current_fp16_to_fp32(void) {
    ensure();
    return current_table()->fp16_to_fp32;
}

void ck_dequantize_row(int type, const void *x, float *y, int64_t n) {
    ensure();
    const ck_convert_fn fast = type >= 0 && type < 31 ? current_table()->dequantize[type] : NULL;
    if (fast) fast(x, y, n); else ck_dequantize_row_ref(type, x, y, n);
}

float ck_vec_dot(int type, int64_t n, const void *w, const void *a) {
    ensure();
    return current_table()->dot[type](n, w, a);
}

float ck_vec_dot_ref(int type, int64_t n, const void *w, const void *a) {
    ensure();
    return table_scalar.dot[type](n, w, a);
}

double ck_exp_shifted(float *y, const float *x, int64_t n, float shift) {
    ensure();
    return current_table()->exp_shifted(y, x, n, shift);
}

void ck_swiglu(float *y, const float *g, const float *u, int64_t n) {
    ensure();
    current_table()->swiglu(y, g, u, n);
}

void ck_attention_f32(const float *q, int64_t q_stride, int64_t rows, const float *k, int64_t k_stride,
                      const float *v, int64_t v_stride, int64_t n_kv, int64_t d, float scale,
                      float *out, int64_t out_stride, float *scratch) {
    ensure();
    current_table()->attention_f32(q, q_stride, rows, k, k_stride, v, v_stride, n_kv, d, scale, out, out_stride, scratch);
}

int ck_dot_rows_ggml_lanes(void) {
    ensure();
    return current_table()->dot_rows_ggml ? current_table()->dot_rows_ggml_lanes : 0;
}

void ck_dot_rows_ggml(const float *a, const float *b, int64_t b_stride, int64_t rows, int64_t n, float *out) {
    ensure();
    current_table()->dot_rows_ggml(a, b, b_stride, rows, n, out);
}

int ck_gemv_ggml_supported(int type) {
    ensure();
    return type >= 0 && type < 31 && current_table()->gemv_ggml[type] != NULL;
}

void ck_gemv_ggml(int type, int64_t n, const void *w, size_t row_bytes, int64_t nrows,
                  const void *act, size_t act_bytes, int64_t batch, float *out, int64_t out_stride) {
    ensure();
    current_table()->gemv_ggml[type](n, w, row_bytes, nrows, act, act_bytes, batch, out, out_stride);
}

int ck_vec_dot_rows_ggml_step(void) {
    ensure();
    return current_table()->vec_dot_rows_ggml ? current_table()->vec_dot_rows_ggml_step : 0;
}

void ck_vec_dot_rows_ggml(const float *a, const float *b, int64_t b_stride, int64_t rows, int64_t n, float *out) {
    ensure();
    current_table()->vec_dot_rows_ggml(a, b, b_stride, rows, n, out);
}

double ck_softmax_exp_ggml(float *y, const float *x, int64_t n, float max) {
    ensure();
    return current_table()->softmax_exp_ggml(y, x, n, max);
}

void ck_gelu_fp16_table(const float *x, float *y, int64_t n) {
    ensure();
    current_table()->gelu_fp16(x, y, n);
}

float ck_scale_max(float *y, const float *x, const float *mask, int64_t n, float scale) {
    ensure();
    return current_table()->scale_max(y, x, mask, n, scale);
}

#ifndef CK_PREFETCH_DISTANCE
#define CK_PREFETCH_DISTANCE 2048
#endif

/// Decode (batch 1-2) streams each weight byte once from DRAM. Hardware prefetchers stop at
/// 4 KiB page ends and this core keeps too few misses in flight while it computes, so the
/// quantized kernels ask for the bytes CK_PREFETCH_DISTANCE ahead of the rows they work on
/// (prefetcht0: the NTA hint was slower). Measured in tools/bench/ck_stream_bench.c: Q5_0
/// 5.5 -> 6.8 GB/s, Q6_K 7.0 -> 7.5, Q4_K 6.6 -> 6.9; F16 already reads at bandwidth and lost
/// 9%, so float types are left to the hardware.
static inline void prefetch_ahead(const char *from, size_t bytes, const char *end) {
    const size_t left = (size_t)(end - from);
    if (left <= CK_PREFETCH_DISTANCE) return;
    const size_t stop = left < CK_PREFETCH_DISTANCE + bytes ? left : CK_PREFETCH_DISTANCE + bytes;
    for (size_t o = CK_PREFETCH_DISTANCE; o < stop; o += 64) __builtin_prefetch(from + o, 0, 3);
}

int ck_gemm_supported(int type) {
    ensure();
    return type >= 0 && type < 31 && current_table()->gemm[type] != NULL;
}

void ck_gemm(int type, int64_t n, const void *w, size_t row_bytes, int64_t nrows, const void *act, size_t act_bytes,
             const void *side, int64_t batch, float *out, int64_t out_stride, void *scratch) {
    ensure();
    const ck_gemm_fn gemm = type >= 0 && type < 31 ? current_table()->gemm[type] : NULL;
    if (gemm) gemm(type, n, w, row_bytes, nrows, act, act_bytes, side, batch, out, out_stride, scratch);
    else ck_gemm_ref(type, n, w, row_bytes, nrows, act, act_bytes, side, batch, out, out_stride);
}

void ck_mul_mat(int type, int64_t n, const void *w, size_t row_bytes, int64_t nrows,
                const void *act, size_t act_bytes, int64_t batch, float *out, int64_t out_stride) {
    ensure();
    const int prefetch = batch <= 2 && ck_block_size(type) > 1;
    const char *end = (const char *)w + (size_t)nrows * row_bytes;
    const ck_kernel_table *t = current_table();
    const ck_mul_mat_fn tiles = t->mul_mat[type];
    if (tiles) {
        // The register tiles prefetch for themselves, a whole strip ahead (ck_tile_prefetch_distance).
        tiles(n, w, row_bytes, nrows, act, act_bytes, batch, out, out_stride);
        return;
    }
    const ck_dot_fn dot = t->dot[type];
    const char *wr = w;
    for (int64_t r = 0; r < nrows; r++, wr += row_bytes) {
        if (prefetch) prefetch_ahead(wr, row_bytes, end);
        const char *ar = act;
        for (int64_t b = 0; b < batch; b++, ar += act_bytes) out[b * out_stride + r] = dot(n, wr, ar);
    }
}
