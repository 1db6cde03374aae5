#include "cpng_shim.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t offset;
    int truncated;
    cpng_result *result;
} cpng_reader;

static void cpng_read_fn(png_structp png, png_bytep out, png_size_t length) {
    cpng_reader *reader = (cpng_reader *)png_get_io_ptr(png);
    if (reader->size - reader->offset < length) {
        reader->truncated = 1;
        png_error(png, "the PNG data ended before the image did");
    }
    memcpy(out, reader->data + reader->offset, length);
    reader->offset += length;
}

static void cpng_error_fn(png_structp png, png_const_charp message) {
    cpng_reader *reader = (cpng_reader *)png_get_error_ptr(png);
    strncpy(reader->result->message, message, sizeof(reader->result->message) - 1);
    png_longjmp(png, 1);
}

static void cpng_warning_fn(png_structp png, png_const_charp message) {
    (void)png; (void)message;  // benign (e.g. unknown chunks, bad iCCP); Pillow ignores them too
}

// Output channels after the transforms set in cpng_configure.
static int cpng_output_channels(png_structp png, png_infop info) {
    int color_type = png_get_color_type(png, info);
    int has_trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return 1;                  // tRNS ignored, as Pillow's convert does
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_PALETTE: return has_trns ? 4 : 3;
    case PNG_COLOR_TYPE_RGB: return 3;
    default: return 4;
    }
}

static void cpng_fill_header(png_structp png, png_infop info, cpng_result *result) {
    result->width = png_get_image_width(png, info);
    result->height = png_get_image_height(png, info);
    result->bit_depth = png_get_bit_depth(png, info);
    result->color_type = png_get_color_type(png, info);
    result->interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
    result->channels = cpng_output_channels(png, info);
}

static int cpng_begin(png_structp *png, png_infop *info, cpng_reader *reader) {
    *png = png_create_read_struct(PNG_LIBPNG_VER_STRING, reader, cpng_error_fn, cpng_warning_fn);
    if (!*png) return 0;
    *info = png_create_info_struct(*png);
    if (!*info) { png_destroy_read_struct(png, NULL, NULL); return 0; }
    png_set_read_fn(*png, reader, cpng_read_fn);
    // Pillow decodes without these limits; the caller applies its own pixel-count limit.
    png_set_user_limits(*png, 0x7fffffff, 0x7fffffff);
    png_set_crc_action(*png, PNG_CRC_DEFAULT, PNG_CRC_DEFAULT);
    return 1;
}

cpng_status cpng_read_header(const unsigned char *data, size_t size, cpng_result *result) {
    memset(result, 0, sizeof(*result));
    cpng_reader reader = {data, size, 0, 0, result};
    png_structp png; png_infop info;
    if (!cpng_begin(&png, &info, &reader)) {
        strcpy(result->message, "libpng could not allocate its state");
        return CPNG_ERROR;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return reader.truncated ? CPNG_TRUNCATED : CPNG_ERROR;
    }
    png_read_info(png, info);
    cpng_fill_header(png, info, result);
    png_destroy_read_struct(&png, &info, NULL);
    return CPNG_OK;
}

cpng_status cpng_decode(const unsigned char *data, size_t size,
                        unsigned char *out, size_t out_size, cpng_result *result) {
    memset(result, 0, sizeof(*result));
    cpng_reader reader = {data, size, 0, 0, result};
    png_structp png; png_infop info;
    unsigned char *volatile row16 = NULL;
    if (!cpng_begin(&png, &info, &reader)) {
        strcpy(result->message, "libpng could not allocate its state");
        return CPNG_ERROR;
    }
    if (setjmp(png_jmpbuf(png))) {
        free(row16);
        png_destroy_read_struct(&png, &info, NULL);
        return reader.truncated ? CPNG_TRUNCATED : CPNG_ERROR;
    }
    png_read_info(png, info);
    cpng_fill_header(png, info, result);
    int color_type = result->color_type;
    int gray16 = color_type == PNG_COLOR_TYPE_GRAY && result->bit_depth == 16;
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_PALETTE && png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && result->bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (result->bit_depth == 16 && !gray16) png_set_strip_16(png);  // keeps the high byte
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t width = result->width, height = result->height, channels = (size_t)result->channels;
    if (out_size < width * height * channels) {
        png_destroy_read_struct(&png, &info, NULL);
        return CPNG_BUFFER;
    }
    if (gray16) {
        // 16-bit gray: decode whole (interlaced images need every pass), then clip to 8 bits.
        size_t count = width * height;
        row16 = malloc(count * 2);
        if (!row16) png_error(png, "out of memory for a 16-bit gray image");
        for (int pass = 0; pass < passes; pass++)
            for (size_t y = 0; y < height; y++) png_read_row(png, row16 + y * width * 2, NULL);
        for (size_t i = 0; i < count; i++) {
            unsigned v = ((unsigned)row16[2 * i] << 8) | row16[2 * i + 1];  // PNG is big-endian
            out[i] = v > 255 ? 255 : (unsigned char)v;
        }
        free(row16);
        row16 = NULL;
    } else {
        for (int pass = 0; pass < passes; pass++)
            for (size_t y = 0; y < height; y++) png_read_row(png, out + y * width * channels, NULL);
    }
    // Chunks after the image data are not read: the pixels are complete (Pillow also returns
    // an image whose trailing chunks are missing).
    png_destroy_read_struct(&png, &info, NULL);
    return CPNG_OK;
}
