import GGUF

/// Hyperparameters of a decoder-only transformer (Qwen2, Llama 3, Qwen3), read only from GGUF metadata.
///
/// Keys are llama.cpp's (`{arch}.block_count`, `{arch}.embedding_length`, …); the rope type
/// follows llama.cpp's `llama_model_rope_type`: `llama` → NORM (adjacent pairs), `qwen2`/`qwen3` → NEOX.
public struct DecoderConfiguration: Sendable, Equatable {
    /// Decoder families this runtime implements.
    public enum Architecture: String, Sendable, CaseIterable {
        case llama, qwen2, qwen3
    }

    /// How RoPE pairs dimensions.
    public enum RopeType: Sendable, Equatable {
        /// Rotates (x[2i], x[2i+1]) — llama.cpp's `LLAMA_ROPE_TYPE_NORM`.
        case norm
        /// Rotates (x[i], x[i + n/2]) — llama.cpp's `LLAMA_ROPE_TYPE_NEOX`.
        case neox
    }

    public let architecture: Architecture
    /// Number of transformer blocks (`block_count`).
    public let layerCount: Int
    /// Residual stream width (`embedding_length`).
    public let embeddingLength: Int
    /// Hidden width of the SwiGLU feed-forward (`feed_forward_length`).
    public let feedForwardLength: Int
    /// Query heads (`attention.head_count`).
    public let headCount: Int
    /// Key/value heads (`attention.head_count_kv`, defaults to `headCount`).
    public let kvHeadCount: Int
    /// Width of one head (`attention.key_length`, default `embeddingLength / headCount`).
    public let headDimension: Int
    /// Rotated dimensions per head (`rope.dimension_count`, default `headDimension`).
    public let ropeDimensionCount: Int
    /// RoPE frequency base (`rope.freq_base`, default 10000).
    public let ropeFrequencyBase: Float
    /// Linear RoPE position scale (1 / `rope.scaling.factor` when the scaling type is linear).
    public let ropeFrequencyScale: Float
    public let ropeType: RopeType
    /// RMSNorm epsilon (`attention.layer_norm_rms_epsilon`).
    public let rmsNormEpsilon: Float
    /// Training context (`context_length`).
    public let contextLength: Int
    /// Vocabulary size (rows of `token_embd.weight`).
    public let vocabularySize: Int

    /// Query width (`headCount * headDimension`).
    public var queryWidth: Int { headCount * headDimension }
    /// Key/value width (`kvHeadCount * headDimension`).
    public var kvWidth: Int { kvHeadCount * headDimension }

    /// Reads the configuration of `file`.
    /// - Throws: ``ModelsError/unsupportedArchitecture(file:architecture:supported:)`` for another
    ///   `general.architecture`, ``ModelsError/invalidHyperparameter(file:key:detail:)`` for missing
    ///   or impossible values, ``ModelsError/missingTensor(file:tensor:)`` without `token_embd.weight`.
    public init(file: GGUFFile) throws {
        let m = file.metadata
        let name = file.path
        let archName: String
        do { archName = try m.string("general.architecture") } catch let e as GGUFError { throw ModelsError.gguf(e) }
        guard let arch = Architecture(rawValue: archName) else {
            throw ModelsError.unsupportedArchitecture(file: name, architecture: archName,
                                                      supported: Architecture.allCases.map(\.rawValue))
        }
        func int(_ key: String, default value: Int? = nil) throws -> Int {
            let full = "\(archName).\(key)"
            do {
                if let value, !m.contains(full) { return value }
                let v = try m.integer(full, as: Int64.self)
                guard v > 0, v < 1 << 31 else {
                    throw ModelsError.invalidHyperparameter(file: name, key: full, detail: "value \(v) is not a positive size")
                }
                return Int(v)
            } catch let e as GGUFError {
                throw ModelsError.invalidHyperparameter(file: name, key: full, detail: e.description)
            }
        }
        func float(_ key: String, default value: Float) throws -> Float {
            let full = "\(archName).\(key)"
            do { return try m.float32(full, default: value) } catch let e as GGUFError {
                throw ModelsError.invalidHyperparameter(file: name, key: full, detail: e.description)
            }
        }
        architecture = arch
        layerCount = try int("block_count")
        embeddingLength = try int("embedding_length")
        feedForwardLength = try int("feed_forward_length")
        headCount = try int("attention.head_count")
        kvHeadCount = try int("attention.head_count_kv", default: headCount)
        headDimension = try int("attention.key_length", default: embeddingLength / headCount)
        ropeDimensionCount = try int("rope.dimension_count", default: headDimension)
        ropeFrequencyBase = try float("rope.freq_base", default: 10000)
        rmsNormEpsilon = try float("attention.layer_norm_rms_epsilon", default: 1e-5)
        contextLength = try int("context_length", default: 4096)
        let scalingType = (try? m.string("\(archName).rope.scaling.type")) ?? "none"
        let scalingFactor = try float("rope.scaling.factor", default: 0)
        if scalingType == "linear" && scalingFactor > 0 {
            ropeFrequencyScale = 1 / scalingFactor
        } else if scalingType == "none" || scalingType == "llama3" || scalingFactor == 0 {
            // llama3 scaling arrives as the `rope_freqs.weight` frequency factors.
            ropeFrequencyScale = 1
        } else {
            throw ModelsError.invalidHyperparameter(file: name, key: "\(archName).rope.scaling.type",
                                                    detail: "'\(scalingType)' is not supported (none, linear, llama3)")
        }
        ropeType = arch == .llama ? .norm : .neox
        guard headCount % kvHeadCount == 0 else {
            throw ModelsError.invalidHyperparameter(file: name, key: "\(archName).attention.head_count_kv",
                                                    detail: "\(kvHeadCount) does not divide head_count \(headCount)")
        }
        guard ropeDimensionCount <= headDimension, ropeDimensionCount % 2 == 0 else {
            throw ModelsError.invalidHyperparameter(file: name, key: "\(archName).rope.dimension_count",
                                                    detail: "\(ropeDimensionCount) must be even and at most the head width \(headDimension)")
        }
        guard file.hasTensor(named: "token_embd.weight"), let embd = try? file.tensor(named: "token_embd.weight") else {
            throw ModelsError.missingTensor(file: name, tensor: "token_embd.weight")
        }
        guard embd.shape.count == 2 else {
            throw ModelsError.tensorShapeMismatch(file: name, tensor: "token_embd.weight",
                                                  expected: [embeddingLength, -1], found: embd.shape)
        }
        vocabularySize = embd.shape[1]
    }
}
