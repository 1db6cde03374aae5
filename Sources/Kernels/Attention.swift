import CBLAS
import CKernels

/// Keys or values of one attention layer in memory the caller owns (e.g. a KV cache):
/// element `(position p, kv head h, dimension d)` is at `base + (p·positionStride +
/// h·headStride + d)` elements of `elementType`.
public struct KVTensor: @unchecked Sendable {
    /// Storage type of the cache.
    public enum ElementType: Sendable { case f32, f16 }

    public let base: UnsafeRawPointer
    public let elementType: ElementType
    public let positionStride: Int
    public let headStride: Int

    public init(base: UnsafeRawPointer, elementType: ElementType, positionStride: Int, headStride: Int) {
        self.base = base
        self.elementType = elementType
        self.positionStride = positionStride
        self.headStride = headStride
    }

    /// Writes `headDimension` floats of (position, head) into `output` as Float32.
    @inline(__always)
    func load(position: Int, head: Int, count: Int, into output: UnsafeMutablePointer<Float>) {
        let offset = position * positionStride + head * headStride
        switch elementType {
        case .f32: output.update(from: base.assumingMemoryBound(to: Float.self) + offset, count: count)
        case .f16: ck_fp16_to_fp32_row(base.assumingMemoryBound(to: UInt16.self) + offset, output, Int64(count))
        }
    }
}

/// The dimensions of one scaled dot-product attention call.
public struct AttentionShape: Sendable {
    /// Query tokens.
    public var tokens: Int
    /// Query heads; a multiple of `kvHeads` (grouped-query attention shares each KV head).
    public var heads: Int
    public var kvHeads: Int
    public var headDimension: Int
    /// Key/value positions to attend over (`0..<kvLength`).
    public var kvLength: Int

    public init(tokens: Int, heads: Int, kvHeads: Int, headDimension: Int, kvLength: Int) {
        self.tokens = tokens
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDimension = headDimension
        self.kvLength = kvLength
    }
}

/// Multi-head scaled dot-product attention: `softmax(scale · q·kᵀ + mask) · v` per head.
///
/// Query head `h` of token `t` is at `query + t·queryTokenStride + h·headDimension`; its output
/// goes to `output + t·outputTokenStride + h·headDimension`. Query head `h` uses KV head
/// `h / (heads / kvHeads)`. With `causal`, token `t` (at position `firstPosition + t` of the
/// sequence) sees keys `0...firstPosition + t`; `mask` (optional, `tokens × kvLength`) is added
/// to the scaled scores. Accumulation is Float32 (OpenBLAS for many tokens).
///
/// With `roundsLikeGGML`, the inputs of both products are rounded to fp16 where ggml's
/// non-flash attention rounds them: the query when the keys are fp16 (ggml converts the right
/// operand of a product to the left one's dot type) and the softmax probabilities when the values
/// are fp16. Without it a language model on quantized weights drifts from llama.cpp: the ~2e-4
/// difference per layer flips roundings of the next Q8_0 activation quantization and grows to
/// ~1e-2 of the logits (BENCHMARKS.md, Language model, Parity).
public enum Attention {
    /// Query tokens per SGEMM block: as many as keep the block's scores (`tokens × kvLength`
    /// floats) within 512 KiB, so they stay in L2 between the two products, in 16…256. Fewer
    /// blocks means OpenBLAS packs the keys fewer times (64 → 128 for the vision encoder's
    /// 1024 positions: 8% faster attention products, measured).
    static func tokenBlock(kvLength: Int) -> Int {
        min(256, max(16, (512 << 10) / (kvLength * MemoryLayout<Float>.stride) / 16 * 16))
    }

    /// Computes attention on `pool` (parallel over KV heads).
    /// - Throws: `KernelsError.invalidShape` when heads are not a multiple of kvHeads or a
    ///   dimension is not positive.
    public static func compute(query: UnsafePointer<Float>, queryTokenStride: Int,
                               keys: KVTensor, values: KVTensor, shape: AttentionShape,
                               causal: Bool, firstPosition: Int = 0, scale: Float,
                               mask: UnsafePointer<Float>? = nil,
                               output: UnsafeMutablePointer<Float>, outputTokenStride: Int,
                               roundsLikeGGML: Bool = false, pool: ThreadPool) throws(KernelsError) {
        try validate(shape)
        if !causal, mask == nil, !roundsLikeGGML, keys.elementType == .f32, values.elementType == .f32 {
            computeFused(query: query, queryTokenStride: queryTokenStride, keys: keys, values: values, shape: shape,
                         scale: scale, output: output, outputTokenStride: outputTokenStride, pool: pool)
            return
        }
        OpenBLASThreads.useOneThreadPerCaller()
        let d = shape.headDimension
        let n = shape.kvLength
        let group = shape.heads / shape.kvHeads
        let block = min(tokenBlock(kvLength: n), shape.tokens)
        let roundQuery = roundsLikeGGML && keys.elementType == .f16
        let roundProbabilities = roundsLikeGGML && values.elementType == .f16
        // llama.cpp's own summation order for both products where this level has it (x86: the
        // lanes of the llama.cpp built for the same vector width); else OpenBLAS.
        let lanes = roundQuery && roundProbabilities ? Int(ck_dot_rows_ggml_lanes()) : 0
        if lanes > 0 && d % lanes == 0 {
            computeInGGMLOrder(query: query, queryTokenStride: queryTokenStride, keys: keys, values: values,
                               shape: shape, causal: causal, firstPosition: firstPosition, scale: scale, mask: mask,
                               output: output, outputTokenStride: outputTokenStride, lanes: lanes, pool: pool)
            return
        }
        let scratchFloats = 2 * n * d + block * n + d + (roundQuery ? block * d : 0)
        let f16 = Int32(CK_TYPE_F16)
        // Parallel over KV heads: each KV head is converted once for all query heads sharing it.
        pool.parallelForIndexed(shape.kvHeads) { kvRange, thread in
            let scratch = pool.threadScratch(thread, bytes: scratchFloats * MemoryLayout<Float>.stride)
                .assumingMemoryBound(to: Float.self)
            let kf = scratch, vf = scratch + n * d, scores = scratch + 2 * n * d
            let roundedQuery = scores + block * n + d
            for g in kvRange {
                // Keys and values of this KV head as contiguous Float32 rows.
                for p in 0..<n {
                    keys.load(position: p, head: g, count: d, into: kf + p * d)
                    values.load(position: p, head: g, count: d, into: vf + p * d)
                }
                for h in (g * group)..<((g + 1) * group) {
                    var t0 = 0
                    while t0 < shape.tokens {
                        let count = min(block, shape.tokens - t0)
                        var q = query + t0 * queryTokenStride + h * d
                        var queryStride = queryTokenStride
                        if roundQuery {
                            // fp16-rounded query rows (ck_prepare_activation of F16 = ggml's rounding).
                            for t in 0..<count {
                                ck_prepare_activation(f16, q + t * queryTokenStride, roundedQuery + t * d, Int64(d))
                            }
                            (q, queryStride) = (UnsafePointer(roundedQuery), d)
                        }
                        // scores[count × n] = scale · Q·Kᵀ
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(n), Int32(d),
                                    scale, q, Int32(queryStride), kf, Int32(d), 0, scores, Int32(n))
                        Softmax.apply(input: scores, output: scores, rows: count, width: n, scale: 1,
                                      mask: mask.map { $0 + t0 * n }, causalOffset: causal ? firstPosition + t0 : nil)
                        if roundProbabilities {
                            // In place: the conversion is element-wise.
                            ck_prepare_activation(f16, scores, scores, Int64(count * n))
                        }
                        // out[count × d] = P·V
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), Int32(d), Int32(n),
                                    1, scores, Int32(n), vf, Int32(d), 0, output + t0 * outputTokenStride + h * d,
                                    Int32(outputTokenStride))
                        t0 += count
                    }
                }
            }
        }
    }

    /// `compute` with fp16 keys and values in llama.cpp's arithmetic: ggml multiplies the F16
    /// cache by the fp16-rounded query (K·Q) and the fp16-rounded probabilities (V·P) through
    /// llamafile's tinyBLAS, one FMA lane per element index modulo its vector width, summed
    /// horizontally at the end; V·P runs over the cache padded to 256 cells, whose zeros only
    /// add zeros to the lanes, so padding to the lane count is the same sum. The softmax is
    /// ggml's too: scores scaled after the product, masked cells −inf, its vector exponential on
    /// whole vectors (the padding included), each vector's sum added to a double.
    static func computeInGGMLOrder(query: UnsafePointer<Float>, queryTokenStride: Int, keys: KVTensor, values: KVTensor,
                                   shape: AttentionShape, causal: Bool, firstPosition: Int, scale: Float,
                                   mask: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>,
                                   outputTokenStride: Int, lanes: Int, pool: ThreadPool) {
        let d = shape.headDimension
        let n = shape.kvLength
        // One query token: ggml's products have one column, which llamafile declines, so
        // ggml_vec_dot_f16 runs them (a step of 4 vectors; the cache's 256-cell padding is a
        // multiple of it); otherwise tinyBLAS, lane by lane.
        let step = shape.tokens == 1 ? Int(ck_vec_dot_rows_ggml_step()) : 0
        let decoding = step > 0 && d % step == 0
        let unit = decoding ? step : lanes
        let padded = (n + unit - 1) / unit * unit
        let dotRows = decoding ? ck_vec_dot_rows_ggml : ck_dot_rows_ggml
        let group = shape.heads / shape.kvHeads
        let f16 = Int32(CK_TYPE_F16)
        // Keys [n × d], values transposed [d × padded] (zero tail), one token's scores, its query.
        let scratchFloats = n * d + d * padded + padded + d + d
        pool.parallelForIndexed(shape.kvHeads) { kvRange, thread in
            let scratch = pool.threadScratch(thread, bytes: scratchFloats * MemoryLayout<Float>.stride)
                .assumingMemoryBound(to: Float.self)
            let kf = scratch, vt = scratch + n * d, scores = vt + d * padded
            let row = scores + padded, roundedQuery = row + d
            for g in kvRange {
                for p in 0..<n {
                    keys.load(position: p, head: g, count: d, into: kf + p * d)
                    values.load(position: p, head: g, count: d, into: row)
                    for j in 0..<d { vt[j * padded + p] = row[j] }
                }
                for j in 0..<d { for p in n..<padded { vt[j * padded + p] = 0 } }
                for h in (g * group)..<((g + 1) * group) {
                    for t in 0..<shape.tokens {
                        ck_prepare_activation(f16, query + t * queryTokenStride + h * d, roundedQuery, Int64(d))
                        // Keys past the causal limit only add −inf scores, zero probabilities and
                        // whole vectors of zeros to the sums: the work stops at the last vector
                        // holding a visible key (`span`), with the same result.
                        let visible = causal ? min(n, max(0, firstPosition + t + 1)) : n
                        let span = max(unit, (visible + unit - 1) / unit * unit)
                        dotRows(roundedQuery, kf, Int64(d), Int64(visible), Int64(d), scores)
                        // ggml's soft_max: scale, add the mask (−inf past the causal limit and
                        // on the padding), maximum, exponentials and their sum, one division.
                        var maximum = -Float.infinity
                        for p in 0..<span {
                            var x = p < visible ? scores[p] * scale : -Float.infinity
                            if let mask, p < visible { x += mask[t * n + p] }
                            scores[p] = x
                            maximum = max(maximum, x)
                        }
                        if maximum == -Float.infinity {
                            for p in 0..<span { scores[p] = 0 }
                        } else {
                            let inverse = Float(1 / ck_softmax_exp_ggml(scores, scores, Int64(span), maximum))
                            for p in 0..<span { scores[p] *= inverse }
                        }
                        ck_prepare_activation(f16, scores, scores, Int64(min(n, span)))
                        dotRows(scores, vt, Int64(padded), Int64(d), Int64(span),
                                output + t * outputTokenStride + h * d)
                    }
                }
            }
        }
    }

    /// Unmasked attention over Float32 keys and values (the vision encoder, the resampler):
    /// the fused C kernel (`ck_attention_f32`) keeps each block's scores in L1 between the two
    /// products, 1.2–1.4x the two OpenBLAS products for SigLIP's 1024×72 heads (BENCHMARKS.md).
    /// Tasks are (query head, slice of query rows), so that a few heads still fill the pool.
    static func computeFused(query: UnsafePointer<Float>, queryTokenStride: Int, keys: KVTensor, values: KVTensor,
                             shape: AttentionShape, scale: Float, output: UnsafeMutablePointer<Float>,
                             outputTokenStride: Int, pool: ThreadPool) {
        let d = shape.headDimension
        let n = shape.kvLength
        let group = shape.heads / shape.kvHeads
        let scratchBytes = Int(ck_attention_f32_scratch(Int64(n), Int64(d))) * MemoryLayout<Float>.stride
        let wantedTasks = 2 * pool.threadCount
        let slices = max(1, min((wantedTasks + shape.heads - 1) / shape.heads, shape.tokens / 32))
        let rowsPerSlice = (shape.tokens + slices - 1) / slices
        let k = keys.base.assumingMemoryBound(to: Float.self)
        let v = values.base.assumingMemoryBound(to: Float.self)
        pool.parallelForIndexed(shape.heads * slices) { tasks, thread in
            let scratch = pool.threadScratch(thread, bytes: scratchBytes).assumingMemoryBound(to: Float.self)
            for task in tasks {
                let h = task / slices
                let t0 = (task % slices) * rowsPerSlice
                let count = min(rowsPerSlice, shape.tokens - t0)
                guard count > 0 else { continue }
                let g = h / group
                ck_attention_f32(query + t0 * queryTokenStride + h * d, Int64(queryTokenStride), Int64(count),
                                 k + g * keys.headStride, Int64(keys.positionStride),
                                 v + g * values.headStride, Int64(values.positionStride), Int64(n), Int64(d), scale,
                                 output + t0 * outputTokenStride + h * d, Int64(outputTokenStride), scratch)
            }
        }
    }

    /// Float64 twin of `compute`, one thread.
    public static func computeReference(query: UnsafePointer<Float>, queryTokenStride: Int,
                                        keys: KVTensor, values: KVTensor, shape: AttentionShape,
                                        causal: Bool, firstPosition: Int = 0, scale: Float,
                                        mask: UnsafePointer<Float>? = nil,
                                        output: UnsafeMutablePointer<Float>, outputTokenStride: Int,
                                        roundsLikeGGML: Bool = false) throws(KernelsError) {
        try validate(shape)
        let roundQuery = roundsLikeGGML && keys.elementType == .f16
        let roundProbabilities = roundsLikeGGML && values.elementType == .f16
        let d = shape.headDimension
        let n = shape.kvLength
        let group = shape.heads / shape.kvHeads
        var k = [Float](repeating: 0, count: d)
        var v = [Float](repeating: 0, count: d)
        for t in 0..<shape.tokens {
            for h in 0..<shape.heads {
                let q = query + t * queryTokenStride + h * d
                let limit = causal ? min(n, firstPosition + t + 1) : n
                var scores = [Double](repeating: -.infinity, count: n)
                for p in 0..<limit {
                    k.withUnsafeMutableBufferPointer { keys.load(position: p, head: h / group, count: d, into: $0.baseAddress.unsafelyUnwrapped) }
                    var s = 0.0
                    for i in 0..<d { s += Double(roundQuery ? fp16Rounded(q[i]) : q[i]) * Double(k[i]) }
                    scores[p] = s * Double(scale) + Double(mask?[t * n + p] ?? 0)
                }
                let maximum = scores.max() ?? 0
                let weights = scores.map { $0 == -.infinity ? 0 : exp64($0 - maximum) }
                let total = weights.reduce(0, +)
                var acc = [Double](repeating: 0, count: d)
                for p in 0..<limit where weights[p] != 0 {
                    v.withUnsafeMutableBufferPointer { values.load(position: p, head: h / group, count: d, into: $0.baseAddress.unsafelyUnwrapped) }
                    let probability = roundProbabilities ? Double(fp16Rounded(Float(weights[p] / total))) : weights[p] / total
                    for i in 0..<d { acc[i] += probability * Double(v[i]) }
                }
                for i in 0..<d { output[t * outputTokenStride + h * d + i] = Float(acc[i]) }
            }
        }
    }

    @inline(__always) static func fp16Rounded(_ x: Float) -> Float { ck_fp16_to_fp32(ck_fp32_to_fp16(x)) }

    static func validate(_ shape: AttentionShape) throws(KernelsError) {
        guard shape.tokens > 0, shape.heads > 0, shape.kvHeads > 0, shape.headDimension > 0, shape.kvLength > 0,
              shape.heads % shape.kvHeads == 0 else {
            throw .invalidShape("attention \(shape)")
        }
    }
}
