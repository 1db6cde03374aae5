#include "edgevlm_delegate.h"
