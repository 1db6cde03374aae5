// edgevlm_delegate.h: the versioned C ABI an accelerator delegate implements (issue 6).
#pragma once
#include <stdint.h>
#include <stddef.h>
