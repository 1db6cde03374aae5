// reference_delegate.c: the reference EdgeVLM accelerator delegate (see README, "Writing an
// accelerator delegate"). It claims F32/F16/Q8_0 mat-mul and F32 LayerNorm, computes them
// itself in plain C, and can be told to misbehave for fault-injection tests.
//
// Build:  cc -shared -fPIC -O2 -I Sources/CDelegate/include reference_delegate.c -o libref.so -lm
// Variants for loader tests: -DREF_BAD_ABI (table reports ABI 99), -DREF_NO_ENTRY (no entry
// symbol exported).
//
// Options (comma-separated key=value, all optional):
//   refuse=1          supports() claims nothing
//   init_fail=1       init() fails (last_error(NULL) explains)
//   fail_on_call=N    the Nth run call (1-based) returns EDGEVLM_STATUS_ERROR
//   fail_after=N      every run call after the Nth returns EDGEVLM_STATUS_ERROR
//   nan_on_call=N     the Nth run call writes NaN into its output
//   sleep_ms=N        every run call sleeps N ms first (to exceed a deadline)
//   prepare_fail=1    prepare() fails although supports() claims the op
//   bucket_batch=N    declares one mat-mul shape bucket {N, 65536}: batches up to N rows
//   stage_side=N      claims the vision-encoder stage for one static input {3, N, N} (placement
//                     tests only: preparing it fails, as this delegate has no encoder)
#include "edgevlm_delegate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct ref_context {
    int refuse, prepare_fail;
    long bucket_batch, stage_side;
    long fail_on_call, fail_after, nan_on_call, sleep_ms;
    long calls;
    char error[256];
} ref_context;

typedef struct ref_handle {
    uint32_t kind;
    uint32_t weight_type;
    int64_t rows, columns;     // MATMUL weight shape
    const void *weight;        // borrowed: valid until release
    const float *gamma, *beta; // LAYER_NORM (optional)
    float eps;
} ref_handle;

// Per thread: two hosts may init the delegate at once, and last_error(NULL) must explain
// the failure of the init that the calling thread made.
static _Thread_local char init_error[256] = "";

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    int exponent = (h >> 10) & 0x1f;
    uint32_t mantissa = h & 0x3ff;
    uint32_t bits;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {  // subnormal: value = mantissa * 2^-24
            float v = (float)mantissa * (1.0f / 16777216.0f);
            return sign ? -v : v;
        }
    } else {
        bits = sign | ((uint32_t)(exponent + 112) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

// Decodes row `r` of the weight into `out` (columns floats).
static void weight_row(const ref_handle *h, int64_t r, float *out) {
    int64_t n = h->columns;
    if (h->weight_type == EDGEVLM_TYPE_F32) {
        memcpy(out, (const float *)h->weight + r * n, (size_t)n * sizeof(float));
    } else if (h->weight_type == EDGEVLM_TYPE_F16) {
        const uint16_t *row = (const uint16_t *)h->weight + r * n;
        for (int64_t i = 0; i < n; i++) out[i] = half_to_float(row[i]);
    } else {  // Q8_0: blocks of {fp16 scale, 32 x int8}
        const uint8_t *row = (const uint8_t *)h->weight + r * (n / 32) * 34;
        for (int64_t b = 0; b < n / 32; b++) {
            const uint8_t *block = row + b * 34;
            uint16_t d16;
            memcpy(&d16, block, 2);
            float d = half_to_float(d16);
            const int8_t *q = (const int8_t *)(block + 2);
            for (int i = 0; i < 32; i++) out[b * 32 + i] = d * (float)q[i];
        }
    }
}

static void set_error(ref_context *c, const char *message) {
    snprintf(c->error, sizeof c->error, "%s", message);
}

static void *ref_init(const char *options) {
    ref_context *c = calloc(1, sizeof *c);
    if (!c) { snprintf(init_error, sizeof init_error, "out of memory"); return NULL; }
    c->fail_on_call = c->fail_after = c->nan_on_call = -1;
    char buffer[512];
    snprintf(buffer, sizeof buffer, "%s", options ? options : "");
    for (char *save = NULL, *item = strtok_r(buffer, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) { snprintf(init_error, sizeof init_error, "option '%s' is not key=value", item); free(c); return NULL; }
        *eq = 0;
        long value = strtol(eq + 1, NULL, 10);
        if (!strcmp(item, "refuse")) c->refuse = (int)value;
        else if (!strcmp(item, "fail_on_call")) c->fail_on_call = value;
        else if (!strcmp(item, "fail_after")) c->fail_after = value;
        else if (!strcmp(item, "nan_on_call")) c->nan_on_call = value;
        else if (!strcmp(item, "sleep_ms")) c->sleep_ms = value;
        else if (!strcmp(item, "prepare_fail")) c->prepare_fail = (int)value;
        else if (!strcmp(item, "bucket_batch")) c->bucket_batch = value;
        else if (!strcmp(item, "stage_side")) c->stage_side = value;
        else if (!strcmp(item, "init_fail") && value) {
            snprintf(init_error, sizeof init_error, "init_fail=1: the device is not available");
            free(c);
            return NULL;
        } else {
            snprintf(init_error, sizeof init_error, "unknown option '%s'", item);
            free(c);
            return NULL;
        }
    }
    return c;
}

static int ref_supports(void *ctx, const edgevlm_op_desc *op) {
    ref_context *c = ctx;
    if (c->refuse || op->n_inputs < 1 || op->n_outputs < 1) return 0;
    if (op->inputs[0].type != EDGEVLM_TYPE_F32 || op->outputs[0].type != EDGEVLM_TYPE_F32) return 0;
    if (op->kind == EDGEVLM_OP_VISION_ENCODER) return c->stage_side > 0;
    if (op->kind == EDGEVLM_OP_MATMUL) {
        if (op->n_weights != 1 || op->weights[0].n_dims != 2) return 0;
        uint32_t t = op->weights[0].type;
        if (t == EDGEVLM_TYPE_Q8_0) return op->weights[0].shape[1] % 32 == 0;
        return t == EDGEVLM_TYPE_F32 || t == EDGEVLM_TYPE_F16;
    }
    if (op->kind == EDGEVLM_OP_LAYER_NORM) {
        for (uint32_t i = 0; i < op->n_weights; i++)
            if (op->weights[i].type != EDGEVLM_TYPE_F32) return 0;
        return op->n_weights <= 2;
    }
    return 0;
}

static size_t ref_shape_buckets(void *ctx, uint32_t kind, edgevlm_shape_bucket *out, size_t capacity) {
    ref_context *c = ctx;
    if (kind == EDGEVLM_OP_VISION_ENCODER && c->stage_side > 0) {
        if (capacity >= 1 && out) {
            edgevlm_shape_bucket b = {.kind = kind, .n_dims = 3, .shape = {3, c->stage_side, c->stage_side, 1}};
            out[0] = b;
        }
        return 1;
    }
    if (kind != EDGEVLM_OP_MATMUL || c->bucket_batch <= 0) return 0;
    if (capacity >= 1 && out) {
        edgevlm_shape_bucket b = {.kind = kind, .n_dims = 2, .shape = {c->bucket_batch, 65536, 1, 1}};
        out[0] = b;
    }
    return 1;
}

static void *ref_prepare(void *ctx, const edgevlm_op_desc *op) {
    ref_context *c = ctx;
    if (!ref_supports(ctx, op)) { set_error(c, "prepare: op not supported"); return NULL; }
    if (c->prepare_fail) { set_error(c, "prepare_fail=1: graph compilation failed"); return NULL; }
    if (op->kind == EDGEVLM_OP_VISION_ENCODER) { set_error(c, "prepare: the reference has no vision encoder"); return NULL; }
    ref_handle *h = calloc(1, sizeof *h);
    if (!h) { set_error(c, "prepare: out of memory"); return NULL; }
    h->kind = op->kind;
    if (op->kind == EDGEVLM_OP_MATMUL) {
        h->weight_type = op->weights[0].type;
        h->rows = op->weights[0].shape[0];
        h->columns = op->weights[0].shape[1];
        h->weight = op->weights[0].data;
    } else {
        h->gamma = op->n_weights > 0 ? op->weights[0].data : NULL;
        h->beta = op->n_weights > 1 ? op->weights[1].data : NULL;
        h->eps = op->params.eps;
    }
    return h;
}

static int ref_run(void *ctx, void *handle, const edgevlm_tensor *inputs, size_t n_inputs,
                   edgevlm_tensor *outputs, size_t n_outputs) {
    ref_context *c = ctx;
    ref_handle *h = handle;
    long call = ++c->calls;
    if (c->sleep_ms > 0) {
        struct timespec ts = {c->sleep_ms / 1000, (c->sleep_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (call == c->fail_on_call || (c->fail_after >= 0 && call > c->fail_after)) {
        snprintf(c->error, sizeof c->error, "injected failure on call %ld", call);
        return EDGEVLM_STATUS_ERROR;
    }
    if (n_inputs < 1 || n_outputs < 1) { set_error(c, "run: missing input or output"); return EDGEVLM_STATUS_ERROR; }
    const float *x = inputs[0].data;
    float *y = outputs[0].data;
    if (h->kind == EDGEVLM_OP_MATMUL) {
        int64_t batch = inputs[0].shape[0];
        float *row = malloc((size_t)h->columns * sizeof(float));
        if (!row) { set_error(c, "run: out of memory"); return EDGEVLM_STATUS_ERROR; }
        for (int64_t r = 0; r < h->rows; r++) {
            weight_row(h, r, row);
            for (int64_t b = 0; b < batch; b++) {
                double sum = 0;
                for (int64_t i = 0; i < h->columns; i++) sum += (double)row[i] * x[b * h->columns + i];
                y[b * h->rows + r] = (float)sum;
            }
        }
        free(row);
    } else {
        int64_t rows = inputs[0].shape[0], width = inputs[0].shape[1];
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * width;
            double mean = 0, var = 0;
            for (int64_t i = 0; i < width; i++) mean += xr[i];
            mean /= (double)width;
            for (int64_t i = 0; i < width; i++) var += (xr[i] - mean) * (xr[i] - mean);
            var /= (double)width;
            double scale = 1.0 / sqrt(var + h->eps);
            for (int64_t i = 0; i < width; i++) {
                double v = (xr[i] - mean) * scale;
                if (h->gamma) v *= h->gamma[i];
                if (h->beta) v += h->beta[i];
                y[r * width + i] = (float)v;
            }
        }
    }
    if (call == c->nan_on_call) y[0] = NAN;
    return EDGEVLM_STATUS_OK;
}

static void ref_release(void *ctx, void *handle) { (void)ctx; free(handle); }

static const char *ref_last_error(void *ctx) {
    return ctx ? ((ref_context *)ctx)->error : init_error;
}

static void ref_shutdown(void *ctx) { free(ctx); }

static const edgevlm_delegate_v1_table table = {
#ifdef REF_BAD_ABI
    .abi_version = 99,
#else
    .abi_version = EDGEVLM_DELEGATE_ABI_VERSION,
#endif
    .struct_size = sizeof(edgevlm_delegate_v1_table),
    .name = "reference",
    .init = ref_init,
    .supports = ref_supports,
    .shape_buckets = ref_shape_buckets,
    .prepare = ref_prepare,
    .run = ref_run,
    .release = ref_release,
    .last_error = ref_last_error,
    .shutdown = ref_shutdown,
};

#ifdef REF_NO_ENTRY
__attribute__((visibility("default"))) const edgevlm_delegate_v1_table *edgevlm_delegate_v0(void) { return &table; }
#else
__attribute__((visibility("default"))) const edgevlm_delegate_v1_table *edgevlm_delegate_v1(void) { return &table; }
#endif
