// CKernels is split by concern: ck_scalar.c (portable reference), ck_dispatch.c (run-time
// selection, entry points), ck_x86.c (AVX2/VNNI), ck_arm.c (NEON/dotprod).
#include "ck_internal.h"
