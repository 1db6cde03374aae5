import Backends
import Foundation
import GGUF
import Kernels

/// The SigLIP vision transformer as MiniCPM-V runs it (minicpmv-spec.md §1.2): a 14×14
/// patch-embedding convolution, a learned position table indexed by bucketed coordinates,
/// pre-norm blocks (LayerNorm, bidirectional multi-head attention, GELU MLP) and a final
/// LayerNorm. One slice per call; any slice whose sides are multiples of the patch size.
public struct SigLIPVisionEncoder: @unchecked Sendable {
    // MARK: configuration

    /// Which GELU the MLP evaluates. The reference (PyTorch) computes tanh-GELU in float;
    /// llama.cpp's CPU backend looks it up in an fp16 table, which `ggmlTable` reproduces.
    public enum GELUVariant: Sendable { case exact, ggmlTable }

    let configuration: MiniCPMVProjectorConfiguration

    // MARK: layers

    struct Block {
        /// "v.blk.N." — op labels in placement reports.
        let prefix: String
        /// The LayerNorm weights as mapped tensors, for an accelerator.
        let norm1Tensors: (TensorDescriptor?, TensorDescriptor?)
        let norm2Tensors: (TensorDescriptor?, TensorDescriptor?)
        let norm1Weight: [Float], norm1Bias: [Float]
        let query: WeightMatrix, queryBias: [Float]
        let key: WeightMatrix, keyBias: [Float]
        let value: WeightMatrix, valueBias: [Float]
        let output: WeightMatrix, outputBias: [Float]
        let norm2Weight: [Float], norm2Bias: [Float]
        /// fc1: width → feed-forward length.
        let fc1: WeightMatrix, fc1Bias: [Float]
        /// fc2: feed-forward length → width.
        let fc2: WeightMatrix, fc2Bias: [Float]
    }

    let patchEmbedding: WeightMatrix
    let patchBias: [Float]
    /// Rows are grid positions (`row · side + column`), columns the ViT width.
    let positionTable: WeightMatrix
    let blocks: [Block]
    let postNormWeight: [Float]?
    let postNormBias: [Float]?
    let postNormTensors: (TensorDescriptor?, TensorDescriptor?)

    /// Binds the `v.*` tensors. Legacy MiniCPM-V files store fc1 under `ffn_down` and fc2 under
    /// `ffn_up`; which is which is decided by shape, as llama.cpp does (spec §2.2).
    init(binder: inout TensorBinder, configuration c: MiniCPMVProjectorConfiguration) throws(ModelsError) {
        configuration = c
        let w = c.width, f = c.feedForwardLength, p = c.patchSize
        patchEmbedding = try binder.matrix("v.patch_embd.weight", shape: [p, p, 3, w], columns: 3 * p * p, rows: w)
        patchBias = try binder.vector("v.patch_embd.bias", w)
        positionTable = try binder.matrix("v.position_embd.weight", columns: w,
                                          rows: c.positionGridSide * c.positionGridSide)
        var blocks: [Block] = []
        for i in 0..<c.blockCount {
            let n = "v.blk.\(i)."
            // Legacy naming: `ffn_down` has ne[0] == width when it really is fc1 (width → ffn).
            let swapped = binder.storedShape(n + "ffn_down.weight")?.first == w
            let fc1Name = swapped ? "ffn_down" : "ffn_up"
            let fc2Name = swapped ? "ffn_up" : "ffn_down"
            blocks.append(Block(
                prefix: n,
                norm1Tensors: (OpRouter.descriptor(of: n + "ln1.weight", in: binder.file), OpRouter.descriptor(of: n + "ln1.bias", in: binder.file)),
                norm2Tensors: (OpRouter.descriptor(of: n + "ln2.weight", in: binder.file), OpRouter.descriptor(of: n + "ln2.bias", in: binder.file)),
                norm1Weight: try binder.vector(n + "ln1.weight", w), norm1Bias: try binder.vector(n + "ln1.bias", w),
                query: try binder.matrix(n + "attn_q.weight", columns: w, rows: w), queryBias: try binder.vector(n + "attn_q.bias", w),
                key: try binder.matrix(n + "attn_k.weight", columns: w, rows: w), keyBias: try binder.vector(n + "attn_k.bias", w),
                value: try binder.matrix(n + "attn_v.weight", columns: w, rows: w), valueBias: try binder.vector(n + "attn_v.bias", w),
                output: try binder.matrix(n + "attn_out.weight", columns: w, rows: w), outputBias: try binder.vector(n + "attn_out.bias", w),
                norm2Weight: try binder.vector(n + "ln2.weight", w), norm2Bias: try binder.vector(n + "ln2.bias", w),
                fc1: try binder.matrix(n + fc1Name + ".weight", columns: w, rows: f), fc1Bias: try binder.vector(n + fc1Name + ".bias", f),
                fc2: try binder.matrix(n + fc2Name + ".weight", columns: f, rows: w), fc2Bias: try binder.vector(n + fc2Name + ".bias", w)))
        }
        self.blocks = blocks
        if binder.storedShape("v.post_ln.weight") != nil {
            postNormWeight = try binder.vector("v.post_ln.weight", w)
            postNormBias = try binder.vector("v.post_ln.bias", w)
        } else {
            postNormWeight = nil
            postNormBias = nil
        }
        postNormTensors = (OpRouter.descriptor(of: "v.post_ln.weight", in: binder.file),
                           OpRouter.descriptor(of: "v.post_ln.bias", in: binder.file))
    }

    // MARK: forward

    /// Position-table rows for an `rows × columns` patch grid: `floor(side·i/n)` per axis
    /// (the reference's bucketing; llama.cpp computes the same in double).
    public static func positionIDs(rows: Int, columns: Int, gridSide: Int) -> [Int] {
        func bucket(_ i: Int, _ n: Int) -> Int { Int((Double(gridSide) * Double(i) / Double(n)).rounded(.down)) }
        var ids: [Int] = []
        ids.reserveCapacity(rows * columns)
        for r in 0..<rows {
            let br = bucket(r, rows)
            for c in 0..<columns { ids.append(br * gridSide + bucket(c, columns)) }
        }
        return ids
    }

    /// Encodes one slice: `pixels` is planar normalised RGB `[3][height][width]`; writes
    /// `(height/p)·(width/p)` rows of `width` floats (the ViT output, patches row-major) to `output`.
    /// - Throws: ``ModelsError/invalidImageSlice(detail:)`` when a side is not a positive multiple
    ///   of the patch size.
    func encode(pixels: UnsafePointer<Float>, height: Int, width: Int, gelu: GELUVariant,
                output x: UnsafeMutablePointer<Float>, pool: ThreadPool, router: OpRouter,
                timings: inout VisionTimings) throws {
        let c = configuration
        let p = c.patchSize
        guard height >= p, width >= p, height % p == 0, width % p == 0 else {
            throw ModelsError.invalidImageSlice(detail: "\(width)×\(height) pixels is not a positive multiple of the \(p)-pixel patch")
        }
        let gridRows = height / p, gridColumns = width / p
        let n = gridRows * gridColumns
        let w = c.width, f = c.feedForwardLength

        var clock = StageClock()
        do {
            try PatchEmbedding.compute(image: pixels, channels: 3, height: height, width: width, patchSize: p,
                                       weight: patchEmbedding, bias: patchBias, output: x, pool: pool)
        } catch {
            throw ModelsError.invalidImageSlice(detail: error.description)
        }
        let ids = Self.positionIDs(rows: gridRows, columns: gridColumns, gridSide: c.positionGridSide)
        let row = UnsafeMutablePointer<Float>.allocate(capacity: w)
        defer { row.deallocate() }
        for t in 0..<n {
            positionTable.dequantizeRow(ids[t], into: row)
            Elementwise.add(x + t * w, row, output: x + t * w, count: w)
        }
        timings.patchEmbedding += clock.lap()

        let normed = UnsafeMutablePointer<Float>.allocate(capacity: n * w)
        let q = UnsafeMutablePointer<Float>.allocate(capacity: n * w)
        let k = UnsafeMutablePointer<Float>.allocate(capacity: n * w)
        let v = UnsafeMutablePointer<Float>.allocate(capacity: n * w)
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: n * max(f, w))
        defer { for b in [normed, q, k, v, hidden] { b.deallocate() } }
        let scale = 1 / Float(c.headDimension).squareRoot()
        let shape = AttentionShape(tokens: n, heads: c.headCount, kvHeads: c.headCount,
                                   headDimension: c.headDimension, kvLength: n)
        let keys = KVTensor(base: UnsafeRawPointer(k), elementType: .f32, positionStride: w, headStride: c.headDimension)
        let values = KVTensor(base: UnsafeRawPointer(v), elementType: .f32, positionStride: w, headStride: c.headDimension)

        let eps = c.layerNormEpsilon
        for block in blocks {
            let b = block.prefix
            // Attention sub-block: x += Wo·attn(LN1(x)) + bo.
            try router.layerNorm(label: b + "ln1", weight: block.norm1Tensors.0, bias: block.norm1Tensors.1, eps: eps,
                                 input: x, output: normed, rows: n, width: w) {
                pool.parallelFor(n, minimumChunk: 16) { r in
                    LayerNorm.apply(input: x + r.lowerBound * w, weight: block.norm1Weight, bias: block.norm1Bias,
                                    output: normed + r.lowerBound * w, rows: r.count, width: w, eps: eps)
                }
            }
            try linear(block.query, block.queryBias, normed, n, q, pool, router, b + "attn_q")
            try linear(block.key, block.keyBias, normed, n, k, pool, router, b + "attn_k")
            try linear(block.value, block.valueBias, normed, n, v, pool, router, b + "attn_v")
            do {
                try Attention.compute(query: q, queryTokenStride: w, keys: keys, values: values, shape: shape,
                                      causal: false, scale: scale, output: normed, outputTokenStride: w, pool: pool)
            } catch {
                throw ModelsError.invalidImageSlice(detail: error.description)
            }
            try linear(block.output, block.outputBias, normed, n, q, pool, router, b + "attn_out")
            addRows(x, q, rows: n, width: w, pool: pool)
            timings.attention += clock.lap()

            // MLP sub-block: x += fc2(act(fc1(LN2(x)))).
            try router.layerNorm(label: b + "ln2", weight: block.norm2Tensors.0, bias: block.norm2Tensors.1, eps: eps,
                                 input: x, output: normed, rows: n, width: w) {
                pool.parallelFor(n, minimumChunk: 16) { r in
                    LayerNorm.apply(input: x + r.lowerBound * w, weight: block.norm2Weight, bias: block.norm2Bias,
                                    output: normed + r.lowerBound * w, rows: r.count, width: w, eps: eps)
                }
            }
            try linear(block.fc1, block.fc1Bias, normed, n, hidden, pool, router, b + "fc1")
            try activate(hidden, rows: n, width: f, gelu: gelu, router: router, label: b + "gelu", pool: pool)
            try linear(block.fc2, block.fc2Bias, hidden, n, q, pool, router, b + "fc2")
            addRows(x, q, rows: n, width: w, pool: pool)
            timings.mlp += clock.lap()
        }
        if let postNormWeight, let postNormBias {
            try router.layerNorm(label: "v.post_ln", weight: postNormTensors.0, bias: postNormTensors.1, eps: eps,
                                 input: x, output: x, rows: n, width: w) {
                pool.parallelFor(n, minimumChunk: 16) { r in
                    LayerNorm.apply(input: x + r.lowerBound * w, weight: postNormWeight, bias: postNormBias,
                                    output: x + r.lowerBound * w, rows: r.count, width: w, eps: eps)
                }
            }
        }
        timings.mlp += clock.lap()
    }

    private func activate(_ data: UnsafeMutablePointer<Float>, rows: Int, width: Int, gelu: GELUVariant,
                          router: OpRouter, label: String, pool: ThreadPool) throws {
        let count = rows * width
        switch configuration.activation {
        case .geluTanh:
            // The reference's tanh-GELU, or ggml's fp16 table for llama.cpp parity.
            let variant: Backends.GELUVariant = gelu == .exact ? .tanh : .ggml
            try router.gelu(label: label, variant: variant, input: data, output: data, rows: rows, width: width) {
                pool.parallelFor(rows, minimumChunk: 16) { r in
                    let start = data + r.lowerBound * width
                    switch gelu {
                    case .exact: Activations.geluTanh(input: start, output: start, count: r.count * width)
                    case .ggmlTable: Activations.geluGGML(input: start, output: start, count: r.count * width)
                    }
                }
            }
        case .silu:
            Activations.silu(input: data, output: data, count: count)
        case .geluQuick:
            // x·σ(1.702x), as ggml's gelu_quick.
            for i in 0..<count { data[i] = data[i] / (1 + Foundation.exp(-1.702 * data[i])) }
        }
    }
}

/// `output[t] = W·input[t] + bias` for `tokens` rows; the product goes where `router` places
/// `label`, the bias is added on the CPU.
func linear(_ weight: WeightMatrix, _ bias: [Float]?, _ input: UnsafePointer<Float>, _ tokens: Int,
            _ output: UnsafeMutablePointer<Float>, _ pool: ThreadPool, _ router: OpRouter, _ label: String) throws {
    try router.matMul(weight, label: label, input: input, batch: tokens, output: output) {
        MatMul.compute(weight: weight, input: input, batch: tokens, output: output, pool: pool)
    }
    if let bias {
        let width = weight.rows
        pool.parallelFor(tokens, minimumChunk: 16) { r in
            Elementwise.addBias(output + r.lowerBound * width, bias: bias, rows: r.count, width: width)
        }
    }
}

/// `x += y` over `rows × width` floats, rows split over `pool` (the residual adds; elementwise,
/// so the split does not change results).
func addRows(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, rows: Int, width: Int, pool: ThreadPool) {
    pool.parallelFor(rows, minimumChunk: 16) { r in
        let offset = r.lowerBound * width
        Elementwise.add(x + offset, y + offset, output: x + offset, count: r.count * width)
    }
}
