#include "cjpeg_shim.h"

#include <jerror.h>
#include <setjmp.h>
#include <string.h>

// An error manager whose error_exit longjmps back instead of calling exit().
typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf escape;
    cjpeg_result *result;
    int truncated;
} cjpeg_error_mgr;

static void cjpeg_error_exit(j_common_ptr cinfo) {
    cjpeg_error_mgr *err = (cjpeg_error_mgr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->result->message);
    err->result->error_code = err->pub.msg_code;
    err->result->empty_image = err->pub.msg_code == JERR_EMPTY_IMAGE;
    if (!cinfo->is_decompressor) longjmp(err->escape, 1);
    struct jpeg_decompress_struct *dinfo = (struct jpeg_decompress_struct *)cinfo;
    err->result->width = (int)dinfo->image_width;
    err->result->height = (int)dinfo->image_height;
    longjmp(err->escape, 1);
}

// Warnings (msg_level -1) are counted; libjpeg's mem source emits JWRN_JPEG_EOF when the data
// ends early and then pads the image with grey: we record that as truncation.
static void cjpeg_emit_message(j_common_ptr cinfo, int msg_level) {
    cjpeg_error_mgr *err = (cjpeg_error_mgr *)cinfo->err;
    if (msg_level >= 0) return;  // trace messages
    if (err->pub.msg_code == JWRN_JPEG_EOF) err->truncated = 1;
    if (err->pub.num_warnings == 0) {
        (*cinfo->err->format_message)(cinfo, err->result->message);
    }
    err->pub.num_warnings++;
}

static void cjpeg_fill_result(struct jpeg_decompress_struct *cinfo, cjpeg_result *result) {
    result->width = (int)cinfo->image_width;
    result->height = (int)cinfo->image_height;
    result->jpeg_color_space = (int)cinfo->jpeg_color_space;
    result->progressive = cinfo->progressive_mode ? 1 : 0;
    result->saw_adobe_marker = cinfo->saw_Adobe_marker ? 1 : 0;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE: result->components = 1; break;
    case JCS_CMYK:
    case JCS_YCCK: result->components = 4; break;
    default: result->components = 3; break;
    }
}

static void cjpeg_setup(struct jpeg_decompress_struct *cinfo, cjpeg_error_mgr *err, cjpeg_result *result) {
    memset(result, 0, sizeof(*result));
    cinfo->err = jpeg_std_error(&err->pub);
    err->pub.error_exit = cjpeg_error_exit;
    err->pub.emit_message = cjpeg_emit_message;
    err->result = result;
    err->truncated = 0;
}

cjpeg_status cjpeg_read_header(const unsigned char *data, size_t size, cjpeg_result *result) {
    struct jpeg_decompress_struct cinfo;
    cjpeg_error_mgr err;
    cjpeg_setup(&cinfo, &err, result);
    if (setjmp(err.escape)) {
        jpeg_destroy_decompress(&cinfo);
        return err.truncated ? CJPEG_TRUNCATED : CJPEG_ERROR;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    cjpeg_fill_result(&cinfo, result);
    result->num_warnings = (int)err.pub.num_warnings;
    int truncated = err.truncated;
    jpeg_destroy_decompress(&cinfo);
    return truncated ? CJPEG_TRUNCATED : CJPEG_OK;
}

cjpeg_status cjpeg_decode(const unsigned char *data, size_t size,
                          unsigned char *out, size_t out_size, cjpeg_result *result) {
    struct jpeg_decompress_struct cinfo;
    cjpeg_error_mgr err;
    cjpeg_setup(&cinfo, &err, result);
    if (setjmp(err.escape)) {
        jpeg_destroy_decompress(&cinfo);
        return err.truncated ? CJPEG_TRUNCATED : CJPEG_ERROR;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    cjpeg_fill_result(&cinfo, result);
    switch (result->components) {
    case 1: cinfo.out_color_space = JCS_GRAYSCALE; break;
    case 4: cinfo.out_color_space = JCS_CMYK; break;  // libjpeg converts YCCK to CMYK
    default: cinfo.out_color_space = JCS_RGB; break;
    }
    size_t row_bytes = (size_t)result->width * (size_t)result->components;
    if (out_size < row_bytes * (size_t)result->height) {
        jpeg_destroy_decompress(&cinfo);
        return CJPEG_BUFFER;
    }
    jpeg_start_decompress(&cinfo);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out + (size_t)cinfo.output_scanline * row_bytes;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    result->num_warnings = (int)err.pub.num_warnings;
    int truncated = err.truncated;
    jpeg_destroy_decompress(&cinfo);
    return truncated ? CJPEG_TRUNCATED : CJPEG_OK;
}
