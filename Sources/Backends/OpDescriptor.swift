/// One op or stage to place and run: kind, scalar parameters, activation shapes and weights.
/// Mirrors the C ABI's `edgevlm_op_desc` (see `edgevlm_delegate.h` for each kind's tensors).
public struct OpDescriptor: Sendable {
    public var kind: OpKind
    /// For logs and placement reports, e.g. "v.blk.3.ffn_up".
    public var label: String
    /// Activation inputs (types and shapes; no data).
    public var inputs: [TensorDescriptor]
    /// Weights (types, shapes, data).
    public var weights: [TensorDescriptor]
    /// Outputs (types and shapes; no data).
    public var outputs: [TensorDescriptor]
    /// Normalisation epsilon (norms).
    public var eps: Float
    /// GELU variant.
    public var geluVariant: GELUVariant
    /// Attention heads, KV heads, causal flag.
    public var heads: Int
    public var kvHeads: Int
    public var causal: Bool
    /// Patch size (patch embedding).
    public var patchSize: Int
    /// Decoder layer index, or -1.
    public var layerIndex: Int

    /// Describes an op; parameters irrelevant to `kind` keep their defaults.
    public init(kind: OpKind, label: String, inputs: [TensorDescriptor], weights: [TensorDescriptor] = [],
                outputs: [TensorDescriptor], eps: Float = 0, geluVariant: GELUVariant = .tanh,
                heads: Int = 0, kvHeads: Int = 0, causal: Bool = false, patchSize: Int = 0, layerIndex: Int = -1) {
        self.kind = kind
        self.label = label
        self.inputs = inputs
        self.weights = weights
        self.outputs = outputs
        self.eps = eps
        self.geluVariant = geluVariant
        self.heads = heads
        self.kvHeads = kvHeads
        self.causal = causal
        self.patchSize = patchSize
        self.layerIndex = layerIndex
    }

    /// A mat-mul `output[batch, rows] = input[batch, columns] · weightᵀ` with `weight` of
    /// shape `[rows, columns]`.
    public static func matMul(label: String, weight: TensorDescriptor, batch: Int) -> OpDescriptor {
        let rows = weight.shape.first ?? 0
        let columns = weight.shape.last ?? 0
        return OpDescriptor(kind: .matMul, label: label,
                            inputs: [TensorDescriptor(name: "input", type: .f32, shape: [batch, columns])],
                            weights: [weight],
                            outputs: [TensorDescriptor(name: "output", type: .f32, shape: [batch, rows])])
    }

    /// A row-wise norm (`.layerNorm` or `.rmsNorm`) over `[rows, width]` with optional weights.
    public static func norm(_ kind: OpKind, label: String, rows: Int, width: Int, eps: Float,
                            weight: TensorDescriptor? = nil, bias: TensorDescriptor? = nil) -> OpDescriptor {
        OpDescriptor(kind: kind, label: label,
                     inputs: [TensorDescriptor(name: "input", type: .f32, shape: [rows, width])],
                     weights: [weight, bias].compactMap { $0 },
                     outputs: [TensorDescriptor(name: "output", type: .f32, shape: [rows, width])], eps: eps)
    }

    /// An element-wise GELU over `shape`.
    public static func gelu(label: String, shape: [Int], variant: GELUVariant) -> OpDescriptor {
        OpDescriptor(kind: .gelu, label: label,
                     inputs: [TensorDescriptor(name: "input", type: .f32, shape: shape)],
                     outputs: [TensorDescriptor(name: "output", type: .f32, shape: shape)], geluVariant: variant)
    }
}
