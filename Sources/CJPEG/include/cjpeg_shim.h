// CJPEG: libjpeg(-turbo) decoding behind a setjmp error manager.
// libjpeg's default error handler calls exit(); a daemon must get an error back instead, and
// Swift cannot longjmp, so the whole decode runs here and reports through cjpeg_result.
#pragma once
#include <stddef.h>
#include <stdio.h>
#include <jpeglib.h>

/// Outcome of a header read or a decode.
typedef enum {
    CJPEG_OK = 0,
    CJPEG_ERROR = 1,      ///< libjpeg raised a fatal error; `message` says which.
    CJPEG_TRUNCATED = 2,  ///< the data ended before the image did (libjpeg's JWRN_JPEG_EOF).
    CJPEG_BUFFER = 3,     ///< the output buffer is smaller than width*height*components.
} cjpeg_status;

/// What the header says, and what the decoder saw.
typedef struct {
    int width;               ///< image width in pixels (before any EXIF rotation)
    int height;
    int components;          ///< samples per output pixel: 1 (gray), 3 (RGB) or 4 (CMYK)
    int jpeg_color_space;    ///< J_COLOR_SPACE of the file
    int progressive;         ///< 1 for a progressive (multi-scan) file
    int saw_adobe_marker;    ///< 1 when an Adobe APP14 marker is present
    int num_warnings;        ///< corrupt-data warnings libjpeg recovered from
    int error_code;          ///< libjpeg's message code of a fatal error (J_MESSAGE_CODE)
    int empty_image;         ///< 1 when the fatal error was JERR_EMPTY_IMAGE (zero width/height)
    char message[JMSG_LENGTH_MAX]; ///< the fatal error or the first warning, NUL-terminated
} cjpeg_result;

/// Reads only the JPEG header of `data` (no pixel allocation).
cjpeg_status cjpeg_read_header(const unsigned char *data, size_t size, cjpeg_result *result);

/// Decodes `data` into `out` (row-major, interleaved, `components` bytes a pixel): gray for
/// grayscale files, CMYK for CMYK/YCCK files (as stored, Adobe inversion not undone here),
/// RGB otherwise. Default libjpeg settings (ISLOW IDCT, fancy upsampling), as Pillow uses.
cjpeg_status cjpeg_decode(const unsigned char *data, size_t size,
                          unsigned char *out, size_t out_size, cjpeg_result *result);
