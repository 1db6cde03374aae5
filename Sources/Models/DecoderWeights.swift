import GGUF
import Kernels

/// The tensors of a decoder, bound by llama.cpp's names with the shapes the configuration implies.
///
/// Matrices stay in the memory-mapped file (never copied); the small 1-D tensors (norm weights,
/// biases) are decoded to `Float` once. Binding fails on the first missing or mis-shaped tensor,
/// naming it with both shapes; tensors the decoder does not use are listed in ``unusedTensors``.
public struct DecoderWeights: @unchecked Sendable {
    /// One block's tensors.
    public struct Layer: @unchecked Sendable {
        let attentionNorm: [Float]
        let query: WeightMatrix
        let key: WeightMatrix
        let value: WeightMatrix
        let queryBias: [Float]?
        let keyBias: [Float]?
        let valueBias: [Float]?
        let queryNorm: [Float]?
        let keyNorm: [Float]?
        let attentionOutput: WeightMatrix
        let feedForwardNorm: [Float]
        let gate: WeightMatrix
        let up: WeightMatrix
        let down: WeightMatrix
    }

    let tokenEmbedding: WeightMatrix
    let layers: [Layer]
    let outputNorm: [Float]
    /// `output.weight`, or `token_embd.weight` when the output embedding is tied.
    let output: WeightMatrix
    /// RoPE frequency factors (`rope_freqs.weight`, Llama 3.1-style scaling), if present.
    let ropeFrequencyFactors: [Float]?
    /// Whether `output.weight` was absent and the token embedding is reused.
    public let tiedOutput: Bool
    /// Names of tensors in the file that this decoder does not read.
    public let unusedTensors: [String]

    /// Binds every tensor of `configuration`'s architecture from `file`.
    /// - Throws: ``ModelsError/missingTensor(file:tensor:)``,
    ///   ``ModelsError/tensorShapeMismatch(file:tensor:expected:found:)``,
    ///   ``ModelsError/unsupportedTensorType(file:tensor:type:)``.
    public init(file: GGUFFile, configuration c: DecoderConfiguration) throws {
        var used = Set<String>()
        func tensor(_ name: String, _ shape: [Int]) throws -> GGUFTensorInfo {
            guard file.hasTensor(named: name), let info = try? file.tensor(named: name) else {
                throw ModelsError.missingTensor(file: file.path, tensor: name)
            }
            // ggml drops no trailing 1s on write, but gguf-py may: compare with trailing 1s trimmed.
            func trimmed(_ s: [Int]) -> [Int] { var s = s; while s.count > 1, s.last == 1 { s.removeLast() }; return s }
            guard trimmed(info.shape) == trimmed(shape) else {
                throw ModelsError.tensorShapeMismatch(file: file.path, tensor: name, expected: shape, found: info.shape)
            }
            used.insert(name)
            return info
        }
        func matrix(_ name: String, columns: Int, rows: Int, info known: GGUFTensorInfo? = nil) throws -> WeightMatrix {
            let info = try known ?? tensor(name, [columns, rows])
            guard let base = file.bytes(of: info).baseAddress else {
                throw ModelsError.tensorShapeMismatch(file: file.path, tensor: name, expected: [columns, rows], found: info.shape)
            }
            do {
                return try WeightMatrix(type: info.type, rows: rows, columns: columns, data: base, name: name)
            } catch {
                throw ModelsError.unsupportedTensorType(file: file.path, tensor: name, type: info.type)
            }
        }
        func vector(_ name: String, _ n: Int) throws -> [Float] {
            let m = try matrix(name, columns: n, rows: 1, info: try tensor(name, [n]))
            return [Float](unsafeUninitializedCapacity: n) { buffer, count in
                m.dequantizeRow(0, into: buffer.baseAddress!)
                count = n
            }
        }
        func optionalVector(_ name: String, _ n: Int) throws -> [Float]? {
            file.hasTensor(named: name) ? try vector(name, n) : nil
        }

        let d = c.embeddingLength
        tokenEmbedding = try matrix("token_embd.weight", columns: d, rows: c.vocabularySize)
        var layers: [Layer] = []
        for i in 0..<c.layerCount {
            let p = "blk.\(i)."
            let hasBias = c.architecture == .qwen2
            let hasQKNorm = c.architecture == .qwen3
            layers.append(Layer(
                attentionNorm: try vector(p + "attn_norm.weight", d),
                query: try matrix(p + "attn_q.weight", columns: d, rows: c.queryWidth),
                key: try matrix(p + "attn_k.weight", columns: d, rows: c.kvWidth),
                value: try matrix(p + "attn_v.weight", columns: d, rows: c.kvWidth),
                queryBias: hasBias ? try vector(p + "attn_q.bias", c.queryWidth) : try optionalVector(p + "attn_q.bias", c.queryWidth),
                keyBias: hasBias ? try vector(p + "attn_k.bias", c.kvWidth) : try optionalVector(p + "attn_k.bias", c.kvWidth),
                valueBias: hasBias ? try vector(p + "attn_v.bias", c.kvWidth) : try optionalVector(p + "attn_v.bias", c.kvWidth),
                queryNorm: hasQKNorm ? try vector(p + "attn_q_norm.weight", c.headDimension) : nil,
                keyNorm: hasQKNorm ? try vector(p + "attn_k_norm.weight", c.headDimension) : nil,
                attentionOutput: try matrix(p + "attn_output.weight", columns: c.queryWidth, rows: d),
                feedForwardNorm: try vector(p + "ffn_norm.weight", d),
                gate: try matrix(p + "ffn_gate.weight", columns: d, rows: c.feedForwardLength),
                up: try matrix(p + "ffn_up.weight", columns: d, rows: c.feedForwardLength),
                down: try matrix(p + "ffn_down.weight", columns: c.feedForwardLength, rows: d)))
        }
        self.layers = layers
        outputNorm = try vector("output_norm.weight", d)
        if file.hasTensor(named: "output.weight") {
            output = try matrix("output.weight", columns: d, rows: c.vocabularySize)
            tiedOutput = false
        } else {
            output = tokenEmbedding
            tiedOutput = true
        }
        ropeFrequencyFactors = try optionalVector("rope_freqs.weight", c.ropeDimensionCount / 2)
        unusedTensors = file.tensors.map(\.name).filter { !used.contains($0) }
    }
}
