// CKernels: innermost quantized block dot products in C intrinsics (see ARCHITECTURE.md).
// Filled in by the kernels work (issue 3).
#pragma once
#include <stdint.h>
#include <stddef.h>
