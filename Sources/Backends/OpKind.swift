import CDelegate

/// The operations and stages a backend can claim; raw values are the C ABI's `edgevlm_op_kind`.
/// Fine ops are single kernels; stages (`visionEncoder`, `resampler`, `decoderLayer`) are whole
/// sub-networks for accelerators that only run compiled static graphs.
public enum OpKind: UInt32, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case matMul = 1
    case layerNorm = 2
    case rmsNorm = 3
    case gelu = 4
    case attention = 5
    case patchEmbed = 6
    case visionEncoder = 100
    case resampler = 101
    case decoderLayer = 102

    /// True for coarse stages (a whole sub-network in one op).
    public var isStage: Bool { rawValue >= 100 }

    public var description: String {
        switch self {
        case .matMul: "matmul"
        case .layerNorm: "layer_norm"
        case .rmsNorm: "rms_norm"
        case .gelu: "gelu"
        case .attention: "attention"
        case .patchEmbed: "patch_embed"
        case .visionEncoder: "vision_encoder"
        case .resampler: "resampler"
        case .decoderLayer: "decoder_layer"
        }
    }

    /// Decodes the name (`"matmul"`), as reports are read by people and scripts.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let kind = OpKind.allCases.first(where: { $0.description == name }) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown op kind '\(name)'")
        }
        self = kind
    }

    /// Encodes the name, not the C ABI number.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// GELU variants (`edgevlm_op_params.variant`).
public enum GELUVariant: Int32, Sendable, Codable {
    case tanh = 0
    case erf = 1
    /// ggml's fp16-table GELU (parity with llama.cpp's vision encoder).
    case ggml = 2
}
