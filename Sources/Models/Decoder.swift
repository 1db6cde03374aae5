import GGUF
import Kernels

/// A decoder-only transformer (Qwen2, Llama 3, Qwen3) over a memory-mapped GGUF file.
///
/// Forward passes append positions to a ``KVCache``: a batch of tokens (prefill) or one token
/// (decode), or rows of embeddings (so image embeddings can be spliced into a prompt).
/// Weights are shared and read-only, so one `Decoder` may serve several caches, one call at a time
/// per cache.
public final class Decoder: @unchecked Sendable {
    /// Hyperparameters from the file's metadata.
    public let configuration: DecoderConfiguration
    /// The bound tensors.
    public let weights: DecoderWeights
    /// The file (kept open: the weights point into its mapping).
    public let file: GGUFFile
    /// Threads used by matrix products and attention.
    public var threadCount: Int { pool.threadCount }
    let pool: ThreadPool

    /// How matrix products treat activations.
    public enum ProductMode: Sendable {
        /// Always quantize activations to the weight's activation type (Q8_0, Q8_K, F16), as
        /// ggml's CPU backend does for every batch size, and multiply what ggml multiplies:
        /// integer block dot products for small batches, the same values through SGEMM for large
        /// ones (`MatMul.computeCompatible`). Tracks llama.cpp's logits most closely (the parity mode).
        case llamaCompatible
        /// Let `Kernels.MatMul` choose: batches of 8-16+ rows go through F32 SGEMM on dequantized
        /// weight panels (more exact, differs from llama.cpp by ~1e-2 relative on Q8_0/Q4 files).
        case kernelsDefault
    }

    /// The activation handling of matrix products (see ``ProductMode``).
    public let productMode: ProductMode
    /// Where the matrix products run (an accelerator that claims them, else the CPU code here).
    public let router: OpRouter
    /// Op labels per layer, made once (GGUF tensor names without ".weight").
    private let labels: [LayerLabels]

    struct LayerLabels {
        let query, key, value, output, gate, up, down: String
        init(_ l: Int) {
            let b = "blk.\(l)."
            (query, key, value, output) = (b + "attn_q", b + "attn_k", b + "attn_v", b + "attn_output")
            (gate, up, down) = (b + "ffn_gate", b + "ffn_up", b + "ffn_down")
        }
    }

    /// Which positions' logits a forward pass returns.
    public enum LogitsSelection: Sendable {
        /// None (e.g. a prefix being cached).
        case none
        /// Only the last position (generation).
        case last
        /// Every position of the batch (tests, perplexity).
        case all
    }

    /// Binds `file`'s decoder.
    /// - Throws: ``ModelsError`` for another architecture, bad hyperparameters, missing or
    ///   mis-shaped tensors.
    public init(file: GGUFFile, threadCount: Int = 1, productMode: ProductMode = .llamaCompatible,
                router: OpRouter = .cpuOnly) throws {
        self.productMode = productMode
        self.router = router
        self.file = file
        configuration = try DecoderConfiguration(file: file)
        weights = try DecoderWeights(file: file, configuration: configuration)
        pool = ThreadPool(threadCount: max(1, threadCount))
        labels = (0..<configuration.layerCount).map(LayerLabels.init)
    }

    /// Opens and binds the GGUF file at `path` (memory-mapped).
    public convenience init(path: String, threadCount: Int = 1, productMode: ProductMode = .llamaCompatible,
                            router: OpRouter = .cpuOnly) throws {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch let e as GGUFError { throw ModelsError.gguf(e) }
        try self.init(file: file, threadCount: threadCount, productMode: productMode, router: router)
    }

    /// An empty cache for up to `capacity` positions (default: the training context).
    public func makeCache(capacity: Int? = nil, storageType: KVCache.StorageType = .f16) -> KVCache {
        KVCache(capacity: capacity ?? configuration.contextLength, layerCount: configuration.layerCount,
                kvWidth: configuration.kvWidth, storageType: storageType)
    }

    /// Token embedding rows for `tokens` (`tokens.count × embeddingLength` floats).
    /// - Throws: ``ModelsError/tokenOutOfRange(token:vocabularySize:)``.
    public func embed(_ tokens: [Int32]) throws -> [Float] {
        let d = configuration.embeddingLength
        var out = [Float](repeating: 0, count: tokens.count * d)
        try out.withUnsafeMutableBufferPointer { o in
            for (i, t) in tokens.enumerated() {
                guard t >= 0, Int(t) < configuration.vocabularySize else {
                    throw ModelsError.tokenOutOfRange(token: t, vocabularySize: configuration.vocabularySize)
                }
                weights.tokenEmbedding.dequantizeRow(Int(t), into: o.baseAddress! + i * d)
            }
        }
        return out
    }

    /// Runs `tokens` at the next positions of `cache` and returns the selected logits
    /// (`rows × vocabularySize`, row-major).
    /// - Throws: ``ModelsError/contextOverflow(requested:capacity:)``,
    ///   ``ModelsError/tokenOutOfRange(token:vocabularySize:)``.
    public func forward(tokens: [Int32], cache: KVCache, logits: LogitsSelection = .last) throws -> [Float] {
        guard !tokens.isEmpty else { return [] }
        try checkCapacity(adding: tokens.count, cache: cache)
        let embeddings = try embed(tokens)
        return try runInMicroBatches(embeddings, tokens: tokens, cache: cache, logits: logits)
    }

    /// Runs rows of input embeddings (`count × embeddingLength` floats, e.g. image embeddings)
    /// at the next positions of `cache`.
    /// - Throws: ``ModelsError/embeddingWidthMismatch(expected:found:)``,
    ///   ``ModelsError/contextOverflow(requested:capacity:)``.
    public func forward(embeddings: [Float], cache: KVCache, logits: LogitsSelection = .last) throws -> [Float] {
        let d = configuration.embeddingLength
        guard embeddings.count % d == 0 else {
            throw ModelsError.embeddingWidthMismatch(expected: d, found: embeddings.count)
        }
        let rows = embeddings.count / d
        guard rows > 0 else { return [] }
        try checkCapacity(adding: rows, cache: cache)
        return try runInMicroBatches(embeddings, tokens: [Int32](repeating: -1, count: rows), cache: cache, logits: logits)
    }

    /// Positions per forward pass (llama.cpp's default `n_ubatch`): longer inputs run in passes
    /// of at most this many rows, so the working buffers (about 60 KB per row at Qwen2-0.5B's
    /// shape, plus the products' scratch) stop growing with the prompt. Smaller passes cost
    /// F16 prefill (the SGEMM route converts every weight once per pass; 256: −9 %, BENCHMARKS.md).
    public static let microBatchSize = 512

    private func runInMicroBatches(_ input: [Float], tokens: [Int32], cache: KVCache,
                                   logits selection: LogitsSelection) throws -> [Float] {
        let d = configuration.embeddingLength
        let rows = tokens.count
        guard rows > Self.microBatchSize else {
            return try run(input, rows: rows, tokens: tokens, cache: cache, logits: selection)
        }
        // A pass that throws leaves the cache as it was before the call, not part-way.
        let start = cache.count
        var logits: [Float] = []
        var first = 0
        do {
            while first < rows {
                let count = min(Self.microBatchSize, rows - first)
                let chunkSelection: LogitsSelection = switch selection {
                case .all: .all
                case .last: first + count == rows ? .last : .none
                case .none: .none
                }
                let chunk = Array(input[(first * d)..<((first + count) * d)])
                logits += try run(chunk, rows: count, tokens: Array(tokens[first..<(first + count)]), cache: cache,
                                  logits: chunkSelection)
                first += count
            }
        } catch {
            cache.truncate(to: start)
            throw error
        }
        return logits
    }

    private func checkCapacity(adding count: Int, cache: KVCache) throws {
        guard cache.count + count <= cache.capacity else {
            throw ModelsError.contextOverflow(requested: cache.count + count, capacity: cache.capacity)
        }
    }

    // MARK: forward

    private func product(_ label: String, weight: WeightMatrix, input: UnsafePointer<Float>, batch: Int,
                         output: UnsafeMutablePointer<Float>, pool: ThreadPool,
                         lent: MatMul.LentBuffers = MatMul.LentBuffers()) throws {
        try router.matMul(weight, label: label, input: input, batch: batch, output: output) {
            switch productMode {
            case .llamaCompatible:
                MatMul.computeCompatible(weight: weight, input: input, batch: batch, output: output, pool: pool, lent: lent)
            case .kernelsDefault:
                MatMul.compute(weight: weight, input: input, batch: batch, output: output, pool: pool)
            }
        }
    }

    private func run(_ input: [Float], rows n: Int, tokens: [Int32], cache: KVCache,
                     logits selection: LogitsSelection) throws -> [Float] {
        let c = configuration
        let d = c.embeddingLength, kvw = c.kvWidth, ff = c.feedForwardLength, hd = c.headDimension
        let start = cache.count
        let scratch = DecoderScratch(rows: n, configuration: c)
        defer { scratch.deallocate() }
        scratch.x.update(from: input, count: n * d)
        for r in 0..<n { scratch.positions[r] = Int32(start + r) }
        let rope = RoPE(dimensions: c.ropeDimensionCount, frequencyBase: c.ropeFrequencyBase,
                        frequencyScale: c.ropeFrequencyScale, layout: c.ropeType == .norm ? .normal : .neox,
                        frequencyFactors: weights.ropeFrequencyFactors)
        let shape = AttentionShape(tokens: n, heads: c.headCount, kvHeads: c.kvHeadCount, headDimension: hd,
                                   kvLength: start + n)
        let elementType: KVTensor.ElementType = cache.storageType == .f16 ? .f16 : .f32

        for (l, layer) in weights.layers.enumerated() {
            let names = labels[l]
            // Attention block: x += Wo · attention(rope(Wq·h + bq), rope(Wk·h + bk), Wv·h + bv), h = rmsnorm(x).
            RMSNorm.apply(input: scratch.x, weight: layer.attentionNorm, output: scratch.h, rows: n, width: d, eps: c.rmsNormEpsilon)
            try product(names.query, weight: layer.query, input: scratch.h, batch: n, output: scratch.q, pool: pool)
            try product(names.key, weight: layer.key, input: scratch.h, batch: n, output: scratch.k, pool: pool)
            try product(names.value, weight: layer.value, input: scratch.h, batch: n, output: scratch.v, pool: pool)
            if let b = layer.queryBias { Elementwise.addBias(scratch.q, bias: b, rows: n, width: c.queryWidth) }
            if let b = layer.keyBias { Elementwise.addBias(scratch.k, bias: b, rows: n, width: kvw) }
            if let b = layer.valueBias { Elementwise.addBias(scratch.v, bias: b, rows: n, width: kvw) }
            if let qn = layer.queryNorm, let kn = layer.keyNorm {
                RMSNorm.apply(input: scratch.q, weight: qn, output: scratch.q, rows: n * c.headCount, width: hd, eps: c.rmsNormEpsilon)
                RMSNorm.apply(input: scratch.k, weight: kn, output: scratch.k, rows: n * c.kvHeadCount, width: hd, eps: c.rmsNormEpsilon)
            }
            rope.apply(scratch.q, tokens: n, heads: c.headCount, headDimension: hd, headStride: hd,
                       tokenStride: c.queryWidth, positions: scratch.positions)
            rope.apply(scratch.k, tokens: n, heads: c.kvHeadCount, headDimension: hd, headStride: hd,
                       tokenStride: kvw, positions: scratch.positions)
            for r in 0..<n {
                cache.store(layer: l, position: start + r, key: scratch.k + r * kvw, value: scratch.v + r * kvw)
            }
            let keys = KVTensor(base: cache.keys[l], elementType: elementType, positionStride: kvw, headStride: hd)
            let values = KVTensor(base: cache.values[l], elementType: elementType, positionStride: kvw, headStride: hd)
            do {
                try Attention.compute(query: scratch.q, queryTokenStride: c.queryWidth, keys: keys, values: values,
                                      shape: shape, causal: true, firstPosition: start, scale: 1 / Float(hd).squareRoot(),
                                      output: scratch.attention, outputTokenStride: c.queryWidth,
                                      roundsLikeGGML: productMode == .llamaCompatible, pool: pool)
            } catch {
                throw ModelsError.invalidHyperparameter(file: file.path, key: "\(c.architecture.rawValue).attention", detail: "\(error)")
            }
            try product(names.output, weight: layer.attentionOutput, input: scratch.attention, batch: n, output: scratch.h, pool: pool)
            Elementwise.add(scratch.x, scratch.h, output: scratch.x, count: n * d)

            // Feed-forward block: x += Wdown · (silu(Wgate·h) ⊙ Wup·h), h = rmsnorm(x).
            RMSNorm.apply(input: scratch.x, weight: layer.feedForwardNorm, output: scratch.h, rows: n, width: d, eps: c.rmsNormEpsilon)
            try product(names.gate, weight: layer.gate, input: scratch.h, batch: n, output: scratch.gate, pool: pool)
            try product(names.up, weight: layer.up, input: scratch.h, batch: n, output: scratch.up, pool: pool)
            let gate = scratch.gate, up = scratch.up
            pool.parallelFor(n, minimumChunk: 8) { rows in
                let offset = rows.lowerBound * ff
                Activations.swiGLU(gate: gate + offset, up: up + offset, output: gate + offset, count: rows.count * ff)
            }
            // The SwiGLU rows and the dead `up` rows serve the product as its working memory.
            try product(names.down, weight: layer.down, input: scratch.gate, batch: n, output: scratch.h, pool: pool,
                        lent: MatMul.LentBuffers(inputIsDisposable: true,
                                                 panel: UnsafeMutableBufferPointer(start: scratch.up, count: n * ff)))
            Elementwise.add(scratch.x, scratch.h, output: scratch.x, count: n * d)
        }
        cache.commit(tokens)

        let outRows: Range<Int>
        switch selection {
        case .none: return []
        case .last: outRows = (n - 1)..<n
        case .all: outRows = 0..<n
        }
        let m = outRows.count
        RMSNorm.apply(input: scratch.x + outRows.lowerBound * d, weight: weights.outputNorm, output: scratch.h,
                      rows: m, width: d, eps: c.rmsNormEpsilon)
        var logits = [Float](repeating: 0, count: m * c.vocabularySize)
        try logits.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            try product("output", weight: weights.output, input: scratch.h, batch: m, output: base, pool: pool)
        }
        return logits
    }
}
