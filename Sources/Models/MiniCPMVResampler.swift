import Backends
import Foundation
import Kernels

/// The perceiver resampler ("compression layer") of MiniCPM-V 2.5+ (minicpmv-spec.md §1.3):
/// one cross-attention from `Q` learned queries to the ViT features of one slice, with a 2-D
/// sin-cos position term on the keys only, three LayerNorms and a final square projection.
/// Output: `Q` rows of the LLM's embedding width.
public struct MiniCPMVResampler: @unchecked Sendable {
    // MARK: configuration

    let configuration: MiniCPMVProjectorConfiguration

    // MARK: layers

    let kvProjection: WeightMatrix              // ViT width → D, no bias
    let kvNormWeight: [Float], kvNormBias: [Float]
    let key: WeightMatrix, keyBias: [Float]
    let value: WeightMatrix, valueBias: [Float]
    let output: WeightMatrix, outputBias: [Float]
    let postNormWeight: [Float], postNormBias: [Float]
    /// The LayerNorm weights as mapped tensors, for an accelerator.
    let kvNormTensors: (TensorDescriptor?, TensorDescriptor?)
    let postNormTensors: (TensorDescriptor?, TensorDescriptor?)
    let projection: WeightMatrix                // stored as a Linear layer (the reference's Pᵀ)
    /// `Wq·LN_q(query) + bq`: it depends on weights only, so it is computed once at load.
    let projectedQueries: [Float]

    init(binder: inout TensorBinder, configuration c: MiniCPMVProjectorConfiguration, pool: ThreadPool) throws(ModelsError) {
        configuration = c
        let d = c.embeddingWidth, nq = c.queryCount
        kvProjection = try binder.matrix("resampler.kv.weight", columns: c.width, rows: d)
        kvNormWeight = try binder.vector("resampler.ln_kv.weight", d)
        kvNormBias = try binder.vector("resampler.ln_kv.bias", d)
        let queryWeight = try binder.matrix("resampler.attn.q.weight", columns: d, rows: d)
        let queryBias = try binder.vector("resampler.attn.q.bias", d)
        key = try binder.matrix("resampler.attn.k.weight", columns: d, rows: d)
        keyBias = try binder.vector("resampler.attn.k.bias", d)
        value = try binder.matrix("resampler.attn.v.weight", columns: d, rows: d)
        valueBias = try binder.vector("resampler.attn.v.bias", d)
        output = try binder.matrix("resampler.attn.out.weight", columns: d, rows: d)
        outputBias = try binder.vector("resampler.attn.out.bias", d)
        postNormWeight = try binder.vector("resampler.ln_post.weight", d)
        postNormBias = try binder.vector("resampler.ln_post.bias", d)
        projection = try binder.matrix("resampler.proj.weight", columns: d, rows: d)
        kvNormTensors = (OpRouter.descriptor(of: "resampler.ln_kv.weight", in: binder.file),
                         OpRouter.descriptor(of: "resampler.ln_kv.bias", in: binder.file))
        postNormTensors = (OpRouter.descriptor(of: "resampler.ln_post.weight", in: binder.file),
                           OpRouter.descriptor(of: "resampler.ln_post.bias", in: binder.file))
        // Required by llama.cpp's loader although its graph recomputes the table: bind it so a
        // file without it is rejected the same way.
        _ = try binder.info("resampler.pos_embed_k", shape: [d, c.positionGridSide * c.positionGridSide])

        let queries = try binder.floats("resampler.query", shape: [d, nq])
        let lnQWeight = try binder.vector("resampler.ln_q.weight", d)
        let lnQBias = try binder.vector("resampler.ln_q.bias", d)
        let normalized = UnsafeMutablePointer<Float>.allocate(capacity: nq * d)
        let projected = UnsafeMutablePointer<Float>.allocate(capacity: nq * d)
        defer { normalized.deallocate(); projected.deallocate() }
        LayerNorm.apply(input: queries, weight: lnQWeight, bias: lnQBias, output: normalized,
                        rows: nq, width: d, eps: c.layerNormEpsilon)
        MatMul.compute(weight: queryWeight, input: normalized, batch: nq, output: projected, pool: pool)
        Elementwise.addBias(projected, bias: queryBias, rows: nq, width: d)
        projectedQueries = Array(UnsafeBufferPointer(start: projected, count: nq * d))
    }

    // MARK: forward

    /// The 2-D sin-cos key position term for an `rows × columns` grid, `rows·columns × width`:
    /// `[sin(x·ω), cos(x·ω), sin(y·ω), cos(y·ω)]` with `ω_k = 10000^(−k/(width/4))`,
    /// x the column and y the row of each patch (spec §1.3), in Float32 as llama.cpp computes it.
    public static func positionEmbedding(rows: Int, columns: Int, width: Int) -> [Float] {
        let quarter = width / 4
        let omega = (0..<quarter).map { 1 / Foundation.pow(Float(10000), Float($0) / Float(quarter)) }
        var table = [Float](repeating: 0, count: rows * columns * width)
        for t in 0..<(rows * columns) {
            let x = Float(t % columns), y = Float(t / columns)
            let base = t * width
            for k in 0..<quarter {
                let ax = x * omega[k], ay = y * omega[k]
                table[base + k] = Foundation.sin(ax)
                table[base + quarter + k] = Foundation.cos(ax)
                table[base + 2 * quarter + k] = Foundation.sin(ay)
                table[base + 3 * quarter + k] = Foundation.cos(ay)
            }
        }
        return table
    }

    /// Compresses `features` (`gridRows·gridColumns × ViT width`) to `Q × D` rows in `result`.
    func compress(features: UnsafePointer<Float>, gridRows: Int, gridColumns: Int,
                  result: UnsafeMutablePointer<Float>, pool: ThreadPool, router: OpRouter) throws {
        let c = configuration
        let d = c.embeddingWidth, n = gridRows * gridColumns, nq = c.queryCount
        // `kv` is reused for the Q output rows after attention; a tiny slice may have n < Q.
        let kv = UnsafeMutablePointer<Float>.allocate(capacity: max(n, nq) * d)
        let k = UnsafeMutablePointer<Float>.allocate(capacity: n * d)
        let v = UnsafeMutablePointer<Float>.allocate(capacity: n * d)
        let attended = UnsafeMutablePointer<Float>.allocate(capacity: nq * d)
        defer { for b in [kv, k, v, attended] { b.deallocate() } }

        let eps = c.layerNormEpsilon
        try linear(kvProjection, nil, features, n, kv, pool, router, "resampler.kv")
        try router.layerNorm(label: "resampler.ln_kv", weight: kvNormTensors.0, bias: kvNormTensors.1, eps: eps,
                             input: kv, output: kv, rows: n, width: d) {
            LayerNorm.apply(input: kv, weight: kvNormWeight, bias: kvNormBias, output: kv, rows: n, width: d, eps: eps)
        }
        // Keys carry the position term; values do not.
        let positions = Self.positionEmbedding(rows: gridRows, columns: gridColumns, width: d)
        Elementwise.add(kv, positions, output: v, count: n * d)
        try linear(key, keyBias, v, n, k, pool, router, "resampler.attn.k")
        try linear(value, valueBias, kv, n, v, pool, router, "resampler.attn.v")

        let headDimension = MiniCPMVProjectorConfiguration.resamplerHeadDimension
        let heads = c.resamplerHeadCount
        do {
            try projectedQueries.withUnsafeBufferPointer { q throws(KernelsError) in
                guard let queries = q.baseAddress else { return }
                try Attention.compute(
                    query: queries, queryTokenStride: d,
                    keys: KVTensor(base: UnsafeRawPointer(k), elementType: .f32, positionStride: d, headStride: headDimension),
                    values: KVTensor(base: UnsafeRawPointer(v), elementType: .f32, positionStride: d, headStride: headDimension),
                    shape: AttentionShape(tokens: nq, heads: heads, kvHeads: heads, headDimension: headDimension, kvLength: n),
                    causal: false, scale: 1 / Float(headDimension).squareRoot(),
                    output: attended, outputTokenStride: d, pool: pool)
            }
        } catch {
            throw ModelsError.invalidImageSlice(detail: "resampler attention: \(error)")
        }
        try linear(output, outputBias, attended, nq, kv, pool, router, "resampler.attn.out")
        try router.layerNorm(label: "resampler.ln_post", weight: postNormTensors.0, bias: postNormTensors.1, eps: eps,
                             input: kv, output: kv, rows: nq, width: d) {
            LayerNorm.apply(input: kv, weight: postNormWeight, bias: postNormBias, output: kv, rows: nq, width: d, eps: eps)
        }
        try linear(projection, nil, kv, nq, result, pool, router, "resampler.proj")
    }
}
