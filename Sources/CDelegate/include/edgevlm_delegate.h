// edgevlm_delegate.h: the versioned C ABI an accelerator delegate implements (issue 6).
//
// A delegate is a shared library (an NPU/DSP/GPU vendor's plug-in) that EdgeVLM loads with
// dlopen from a path in its configuration (`--backend delegate:/path/lib.so,key=value,...`).
// EdgeVLM looks up ONE symbol, `edgevlm_delegate_v1`, calls it, and checks the returned table's
// `abi_version` against EDGEVLM_DELEGATE_ABI_VERSION before calling anything else.
//
// Life cycle (all calls for one context come from one thread at a time; EdgeVLM serialises
// them, so a delegate needs no locking of its own):
//   table = edgevlm_delegate_v1();
//   ctx = table->init("key=value,key=value");          // NULL on failure: see last_error(NULL)
//   table->supports(ctx, &op)                           // capability query at plan time
//   table->shape_buckets(ctx, kind, buf, cap)           // optional static-shape declaration
//   h = table->prepare(ctx, &op)                        // compile/upload weights; NULL on failure
//   table->run(ctx, h, inputs, n_in, outputs, n_out)    // many times
//   table->release(ctx, h)
//   table->shutdown(ctx)
//
// Whatever a delegate refuses (supports == 0), fails to prepare, fails to run, runs too slowly
// or answers with non-finite values is computed on EdgeVLM's CPU backend instead; a delegate
// never has to be complete and can never make a job fail.
//
// Stability rules: fields are only ever appended to structs (each struct that may grow starts
// with `struct_size`), enum values are never renumbered, and any incompatible change bumps
// EDGEVLM_DELEGATE_ABI_VERSION and the entry-point name (`edgevlm_delegate_v2`).
#pragma once
#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The ABI version this header describes. A table reporting another version is rejected.
#define EDGEVLM_DELEGATE_ABI_VERSION 1

/// The name of the entry-point symbol a delegate library must export.
#define EDGEVLM_DELEGATE_ENTRY_SYMBOL "edgevlm_delegate_v1"

/// Maximum number of dimensions of a tensor descriptor.
#define EDGEVLM_MAX_DIMS 4

/// Operation kinds. Fine ops (1..99) are single kernels; coarse stages (100..) are whole
/// sub-networks an NPU that only runs compiled static graphs can claim in one piece.
typedef enum edgevlm_op_kind {
    /// y[b, r] = sum_c W[r, c] * x[b, c]. weights[0]: W, shape {rows, columns}, any ggml type
    /// (F32, F16, Q8_0, ...). inputs[0]: x, F32 {batch, columns}. outputs[0]: y, F32 {batch, rows}.
    EDGEVLM_OP_MATMUL = 1,
    /// y = (x - mean) / sqrt(var + eps) * gamma + beta per row. inputs[0]: x, F32 {rows, width}.
    /// weights[0]: gamma F32 {width} (optional: n_weights may be 0), weights[1]: beta F32 {width}
    /// (optional). outputs[0]: y, F32 {rows, width}. params.eps: epsilon.
    EDGEVLM_OP_LAYER_NORM = 2,
    /// y = x / sqrt(mean(x^2) + eps) * gamma per row. Shapes as LAYER_NORM, weights[0]: gamma
    /// (optional). params.eps: epsilon.
    EDGEVLM_OP_RMS_NORM = 3,
    /// Element-wise GELU. inputs[0], outputs[0]: F32, same shape. params.variant:
    /// EDGEVLM_GELU_TANH, EDGEVLM_GELU_ERF or EDGEVLM_GELU_GGML (ggml's fp16 table).
    EDGEVLM_OP_GELU = 4,
    /// Scaled-dot-product attention. inputs: q {tokens, heads*head_dim}, k and v
    /// {kv_len, kv_heads*head_dim}, all F32; outputs[0] {tokens, heads*head_dim}.
    /// params.heads, params.kv_heads, params.causal.
    EDGEVLM_OP_ATTENTION = 5,
    /// Conv2d with kernel = stride = patch size. inputs[0]: image F32 {channels, height, width};
    /// weights[0]: kernel {embed, channels, patch, patch}; weights[1]: bias F32 {embed};
    /// outputs[0]: F32 {patches, embed}. params.patch_size.
    EDGEVLM_OP_PATCH_EMBED = 6,
    /// The whole vision tower (patch embedding, position embedding, all encoder layers, post
    /// norm). inputs[0]: pixels F32 {3, height, width}; outputs[0]: F32 {patches, hidden}.
    /// weights: every vision-tower tensor, named as in the GGUF file.
    EDGEVLM_OP_VISION_ENCODER = 100,
    /// The MiniCPM-V resampler (perceiver). inputs[0]: F32 {patches, hidden};
    /// outputs[0]: F32 {queries, llm_dim}. weights: the resampler tensors, GGUF names.
    EDGEVLM_OP_RESAMPLER = 101,
    /// One transformer decoder layer for a batch of tokens (KV cache managed by the delegate).
    /// inputs[0]: F32 {tokens, embed}; outputs[0]: F32 {tokens, embed}. params.layer_index.
    EDGEVLM_OP_DECODER_LAYER = 102,
} edgevlm_op_kind;

/// GELU variants for params.variant of EDGEVLM_OP_GELU.
enum {
    EDGEVLM_GELU_TANH = 0,
    EDGEVLM_GELU_ERF = 1,
    EDGEVLM_GELU_GGML = 2,
};

/// Element types are ggml's type codes (as stored in GGUF), e.g.:
#define EDGEVLM_TYPE_F32 0
#define EDGEVLM_TYPE_F16 1
#define EDGEVLM_TYPE_Q4_0 2
#define EDGEVLM_TYPE_Q8_0 8
#define EDGEVLM_TYPE_BF16 30

/// Status codes returned by run.
typedef enum edgevlm_status {
    EDGEVLM_STATUS_OK = 0,
    /// The call failed; last_error(ctx) says why. EdgeVLM recomputes the op on the CPU.
    EDGEVLM_STATUS_ERROR = 1,
    /// The op (or these shapes) cannot run here after all; EdgeVLM recomputes it on the CPU.
    EDGEVLM_STATUS_UNSUPPORTED = 2,
} edgevlm_status;

/// A tensor: its type, shape and (where the call provides it) its data.
/// Shapes are listed OUTERMOST FIRST (row-major, like numpy): {rows, columns} means `columns`
/// contiguous elements per row. Tensors are always contiguous.
typedef struct edgevlm_tensor {
    /// Tensor name (GGUF name for weights, e.g. "v.blk.0.attn_q.weight"; a role such as
    /// "input" for activations). Valid only during the call; copy it if needed.
    const char *name;
    /// ggml type code (EDGEVLM_TYPE_*).
    uint32_t type;
    /// Number of used entries of `shape` (1..EDGEVLM_MAX_DIMS).
    uint32_t n_dims;
    /// Extent of each dimension, outermost first; entries past n_dims are 1.
    int64_t shape[EDGEVLM_MAX_DIMS];
    /// The data. For weights: read-only host memory (usually memory-mapped from the GGUF file;
    /// never write to it) that stays valid and unchanged from prepare until release, so a
    /// delegate may keep the pointer instead of copying. For activations in supports/prepare descriptors: NULL. In run:
    /// inputs are readable, outputs writable; outputs never alias inputs.
    void *data;
    /// Size of `data` in bytes (0 when data is NULL).
    size_t size_bytes;
} edgevlm_tensor;

/// Scalar parameters of an op (unused fields are 0).
typedef struct edgevlm_op_params {
    /// Normalisation epsilon (LAYER_NORM, RMS_NORM).
    float eps;
    /// GELU variant (EDGEVLM_GELU_*).
    int32_t variant;
    /// Attention heads and KV heads (ATTENTION).
    int32_t heads;
    int32_t kv_heads;
    /// Non-zero for causal masking (ATTENTION).
    int32_t causal;
    /// Patch size in pixels (PATCH_EMBED).
    int32_t patch_size;
    /// Index of the layer (DECODER_LAYER), or -1.
    int32_t layer_index;
    /// Reserved; 0.
    int32_t reserved[8];
} edgevlm_op_params;

/// Description of one op or stage, passed to supports and prepare. Memory (names, arrays) is
/// valid only during the call, except weight `data`, which lives until release.
typedef struct edgevlm_op_desc {
    /// sizeof(edgevlm_op_desc) as compiled into EdgeVLM; lets later versions append fields.
    uint32_t struct_size;
    /// What to compute (edgevlm_op_kind).
    uint32_t kind;
    /// Human-readable label for logs (e.g. "v.blk.3.ffn_up"), never NULL.
    const char *label;
    /// Scalar parameters.
    edgevlm_op_params params;
    /// Activation inputs: types and shapes (data NULL here; supplied to run).
    uint32_t n_inputs;
    const edgevlm_tensor *inputs;
    /// Weights: types, shapes and data (valid until release).
    uint32_t n_weights;
    const edgevlm_tensor *weights;
    /// Outputs: types and shapes (data NULL here; supplied to run).
    uint32_t n_outputs;
    const edgevlm_tensor *outputs;
} edgevlm_op_desc;

/// A static shape a delegate compiled for (for NPUs that need fixed shapes): EdgeVLM pads the
/// first input of `kind` up to the smallest bucket that contains it (with masking where the op
/// needs it) before placement, or places the op on the CPU when no bucket fits.
typedef struct edgevlm_shape_bucket {
    /// The op kind this bucket applies to.
    uint32_t kind;
    /// Number of used entries of `shape`.
    uint32_t n_dims;
    /// The bucket's shape for inputs[0], outermost first.
    int64_t shape[EDGEVLM_MAX_DIMS];
} edgevlm_shape_bucket;

/// The function table a delegate exports. All function pointers are required except
/// `shape_buckets`, which may be NULL (the delegate accepts any shape it claims).
typedef struct edgevlm_delegate_v1_table {
    /// Must be EDGEVLM_DELEGATE_ABI_VERSION; anything else is rejected before any call.
    uint32_t abi_version;
    /// sizeof(edgevlm_delegate_v1_table) as compiled into the delegate.
    uint32_t struct_size;
    /// Short stable name for reports and logs (e.g. "rknn", "qnn-htp"), never NULL.
    const char *name;

    /// Creates a context. `options` is a comma-separated list of key=value pairs from the
    /// configuration (never NULL; "" when none). Returns NULL on failure, after which
    /// last_error(NULL) describes the failure.
    void *(*init)(const char *options);

    /// Returns non-zero when the delegate can prepare and run `op` with these types and shapes.
    /// Must be cheap and must not keep pointers from `op`.
    int (*supports)(void *ctx, const edgevlm_op_desc *op);

    /// Optional (may be NULL). Writes up to `capacity` buckets for `kind` into `out` and
    /// returns how many the delegate has in total (0: any shape it claims is accepted).
    size_t (*shape_buckets)(void *ctx, uint32_t kind, edgevlm_shape_bucket *out, size_t capacity);

    /// Prepares `op` for repeated runs (compile a graph, upload or repack weights). Returns an
    /// opaque non-NULL handle, or NULL on failure (last_error(ctx) says why; the op then runs
    /// on the CPU).
    void *(*prepare)(void *ctx, const edgevlm_op_desc *op);

    /// Runs a prepared op. `inputs` and `outputs` follow the op descriptor's order, types and
    /// shapes, with data set. Returns EDGEVLM_STATUS_OK or an error status (then last_error).
    int (*run)(void *ctx, void *handle, const edgevlm_tensor *inputs, size_t n_inputs,
               edgevlm_tensor *outputs, size_t n_outputs);

    /// Frees a handle from prepare. After this the delegate must not touch the op's weights.
    void (*release)(void *ctx, void *handle);

    /// The last error message for `ctx` (or, when ctx is NULL, of the last init that failed on
    /// the calling thread: keep that message thread-local, since hosts may init concurrently);
    /// valid until the next call on that context. Never NULL (return "" when there is none).
    const char *(*last_error)(void *ctx);

    /// Destroys the context; all handles have been released before.
    void (*shutdown)(void *ctx);
} edgevlm_delegate_v1_table;

/// The entry point every delegate exports (with C linkage and default visibility).
typedef const edgevlm_delegate_v1_table *(*edgevlm_delegate_v1_fn)(void);

#ifdef __cplusplus
}
#endif
