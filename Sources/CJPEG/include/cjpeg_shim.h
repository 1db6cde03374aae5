// CJPEG: libjpeg(-turbo) decoding behind a setjmp error manager.
// libjpeg's default error handler calls exit(); a daemon must get an error back instead.
// Filled in by the Imaging work (issue 5).
#pragma once
#include <stdio.h>
#include <jpeglib.h>
