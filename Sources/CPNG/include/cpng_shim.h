// CPNG: libpng16 decoding behind a setjmp error handler (libpng longjmps on errors, which Swift
// cannot catch). The classic API is used instead of png_image_* because the simplified API
// applies gamma/sRGB conversions and composites alpha, while the reference (Pillow) does
// neither: it takes the stored samples as they are.
#pragma once
#include <stddef.h>

typedef enum {
    CPNG_OK = 0,
    CPNG_ERROR = 1,      ///< libpng raised an error; `message` says which.
    CPNG_TRUNCATED = 2,  ///< the data ended before the image did.
    CPNG_BUFFER = 3,     ///< the output buffer is smaller than width*height*channels.
} cpng_status;

typedef struct {
    unsigned int width;
    unsigned int height;
    int bit_depth;       ///< as stored (1, 2, 4, 8, 16)
    int color_type;      ///< PNG_COLOR_TYPE_* as stored
    int interlaced;      ///< 1 for Adam7
    int channels;        ///< samples per output pixel after cpng_decode's transforms: 1, 2, 3 or 4
    char message[256];
} cpng_result;

/// Reads the PNG signature and IHDR (no pixel allocation); fills width, height, bit_depth,
/// color_type, interlaced and channels.
cpng_status cpng_read_header(const unsigned char *data, size_t size, cpng_result *result);

/// Decodes `data` into `out` as 8-bit samples, `channels` a pixel (gray, gray+alpha, RGB,
/// RGBA), rows top to bottom. Palette images expand to RGB (RGBA when a tRNS chunk exists),
/// gray below 8 bits scales to 8 bits, 16-bit samples keep their high byte, except 16-bit
/// gray without alpha, which clips to 255 (Pillow's "I;16" to "RGB" conversion does that).
/// No gamma or colour-profile correction is applied.
cpng_status cpng_decode(const unsigned char *data, size_t size,
                        unsigned char *out, size_t out_size, cpng_result *result);
