import CKernels
import GGUF
import Kernels
import Testing

/// Each op against its Float64 twin on random data of odd sizes.
@Suite struct OpsTests {
    func expectClose(_ a: [Float], _ b: [Float], tolerance: Float, _ what: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count, sourceLocation: sourceLocation)
        var worst: Float = 0
        for i in 0..<min(a.count, b.count) { worst = max(worst, abs(a[i] - b[i]) / max(1, abs(b[i]))) }
        #expect(worst <= tolerance, "\(what): worst relative error \(worst)", sourceLocation: sourceLocation)
    }

    @Test func rmsNorm() {
        var rng = SeededGenerator(seed: 1)
        let rows = 3, width = 897
        let x = rng.floats(rows * width, scale: 4), w = rng.floats(width)
        var fast = [Float](repeating: 0, count: rows * width), exact = fast
        RMSNorm.apply(input: x, weight: w, output: &fast, rows: rows, width: width, eps: 1e-6)
        RMSNorm.applyReference(input: x, weight: w, output: &exact, rows: rows, width: width, eps: 1e-6)
        expectClose(fast, exact, tolerance: 1e-5, "rms norm")
    }

    @Test func layerNorm() {
        var rng = SeededGenerator(seed: 2)
        let rows = 5, width = 1153
        var x = rng.floats(rows * width, scale: 3)
        for i in 0..<x.count { x[i] += 7 } // a large mean tests the two-pass variance
        let w = rng.floats(width), b = rng.floats(width)
        var fast = [Float](repeating: 0, count: rows * width), exact = fast
        LayerNorm.apply(input: x, weight: w, bias: b, output: &fast, rows: rows, width: width, eps: 1e-6)
        LayerNorm.applyReference(input: x, weight: w, bias: b, output: &exact, rows: rows, width: width, eps: 1e-6)
        expectClose(fast, exact, tolerance: 1e-5, "layer norm")
    }

    @Test(arguments: [false, true])
    func softmax(causal: Bool) {
        var rng = SeededGenerator(seed: 3)
        let rows = 4, width = 131
        let x = rng.floats(rows * width, scale: 5)
        var mask = [Float](repeating: 0, count: rows * width)
        mask[3] = -.infinity
        mask[width + 7] = -2
        var fast = [Float](repeating: 0, count: rows * width), exact = fast
        Softmax.apply(input: x, output: &fast, rows: rows, width: width, scale: 0.3, mask: mask, causalOffset: causal ? 2 : nil)
        Softmax.applyReference(input: x, output: &exact, rows: rows, width: width, scale: 0.3, mask: mask, causalOffset: causal ? 2 : nil)
        expectClose(fast, exact, tolerance: 1e-5, "softmax")
        if causal { #expect(fast[3] == 0 && fast[4] == 0 && fast[2] > 0) }
        for r in 0..<rows { #expect(abs(fast[r * width..<(r + 1) * width].reduce(0, +) - 1) < 1e-5) }
    }

    @Test func activations() {
        var rng = SeededGenerator(seed: 4)
        var x = rng.floats(1001, scale: 4)
        x += [-12, 12, 0, -0.0, 9.99, -9.99]
        var y = [Float](repeating: 0, count: x.count)
        Activations.geluTanh(input: x, output: &y, count: x.count)
        expectClose(y, x.map(Activations.geluTanhReference), tolerance: 1e-6, "gelu tanh")
        Activations.geluGGML(input: x, output: &y, count: x.count)
        // fp16 rounding of input and output: ~2^-11 relative, plus the slope times the input rounding.
        for i in 0..<x.count {
            let want = Activations.geluTanhReference(x[i])
            #expect(abs(y[i] - want) <= 2e-3 * max(1, abs(want)), "gelu ggml at \(x[i]): \(y[i]) vs \(want)")
        }
        #expect(y[x.count - 6] == 0 && y[x.count - 5] == 12)
        Activations.geluErf(input: x, output: &y, count: x.count)
        expectClose(y, x.map(Activations.geluErfReference), tolerance: 1e-6, "gelu erf")
        Activations.silu(input: x, output: &y, count: x.count)
        expectClose(y, x.map(Activations.siluReference), tolerance: 1e-6, "silu")
        let up = rng.floats(x.count)
        Activations.swiGLU(gate: x, up: up, output: &y, count: x.count)
        expectClose(y, (0..<x.count).map { Activations.siluReference(x[$0]) * up[$0] }, tolerance: 1e-6, "swiglu")
    }

    @Test func elementwise() {
        var rng = SeededGenerator(seed: 5)
        let a = rng.floats(37), b = rng.floats(37)
        var y = [Float](repeating: 0, count: 37)
        Elementwise.add(a, b, output: &y, count: 37)
        #expect(y == (0..<37).map { a[$0] + b[$0] })
        Elementwise.mul(a, b, output: &y, count: 37)
        #expect(y == (0..<37).map { a[$0] * b[$0] })
        Elementwise.scale(a, by: 0.5, output: &y, count: 37)
        #expect(y == a.map { $0 * 0.5 })
    }

    @Test(arguments: [RoPE.Layout.normal, .neox])
    func rope(layout: RoPE.Layout) {
        var rng = SeededGenerator(seed: 6)
        let tokens = 5, heads = 3, headDim = 64, stride = heads * headDim + 5
        let original = rng.floats(tokens * stride)
        let positions: [Int32] = [0, 1, 17, 300, 4095]
        let factors = RoPE.llama3FrequencyFactors(dimensions: 48, frequencyBase: 500_000, factor: 8,
                                                  lowFrequencyFactor: 1, highFrequencyFactor: 4,
                                                  originalContextLength: 8192)
        for rope in [RoPE(dimensions: 64, frequencyBase: 1_000_000, layout: layout),
                     RoPE(dimensions: 48, frequencyBase: 500_000, frequencyScale: 0.5, layout: layout, frequencyFactors: factors)] {
            var fast = original, exact = original
            rope.apply(&fast, tokens: tokens, heads: heads, headDimension: headDim, headStride: headDim, tokenStride: stride, positions: positions)
            rope.applyReference(&exact, tokens: tokens, heads: heads, headDimension: headDim, headStride: headDim, tokenStride: stride, positions: positions)
            // θ by repeated Float32 multiplication (as ggml) drifts ~1e-6 relative; at position 4095 that is ~4e-3 rad.
            expectClose(fast, exact, tolerance: 2e-2, "rope \(layout) \(rope.dimensions)")
            // Position 0 is the identity; elements past `dimensions` and the padding are untouched.
            #expect(Array(fast[0..<headDim]) == Array(original[0..<headDim]))
            #expect(fast[stride - 1] == original[stride - 1])
            if rope.dimensions < headDim { #expect(fast[stride + headDim - 1] == original[stride + headDim - 1]) }
        }
        #expect(factors.first == 1 && factors.last == 8)
    }

    @Test(arguments: [KVTensor.ElementType.f32, .f16])
    func attention(cache: KVTensor.ElementType) throws {
        var rng = SeededGenerator(seed: 7)
        let pool = ThreadPool(threadCount: 2)
        for (tokens, heads, kvHeads, dim, kvLength, causal) in [(1, 4, 2, 16, 9, true), (5, 6, 2, 24, 12, true),
                                                                 (70, 2, 2, 8, 70, false), (3, 3, 1, 72, 40, false)] {
            let queryStride = heads * dim + 3
            let query = rng.floats(tokens * queryStride)
            let positionStride = kvHeads * dim + 1
            let k = rng.floats(kvLength * positionStride), v = rng.floats(kvLength * positionStride)
            let k16 = k.map { Float16($0).bitPattern }, v16 = v.map { Float16($0).bitPattern }
            let shape = AttentionShape(tokens: tokens, heads: heads, kvHeads: kvHeads, headDimension: dim, kvLength: kvLength)
            let outStride = heads * dim
            // roundsLikeGGML: fp16 query/probabilities where the cache is fp16 (ggml's non-flash path).
            for rounds in [false, true] {
            var fast = [Float](repeating: 0, count: tokens * outStride), exact = fast, unrounded = fast
            try k.withUnsafeBytes { kf in try v.withUnsafeBytes { vf in try k16.withUnsafeBytes { kh in try v16.withUnsafeBytes { vh in
                let keys = KVTensor(base: cache == .f32 ? kf.baseAddress! : kh.baseAddress!, elementType: cache,
                                    positionStride: positionStride, headStride: dim)
                let values = KVTensor(base: cache == .f32 ? vf.baseAddress! : vh.baseAddress!, elementType: cache,
                                      positionStride: positionStride, headStride: dim)
                let first = kvLength - tokens
                try Attention.compute(query: query, queryTokenStride: queryStride, keys: keys, values: values, shape: shape,
                                      causal: causal, firstPosition: first, scale: 1 / Float(dim).squareRoot(),
                                      output: &fast, outputTokenStride: outStride, roundsLikeGGML: rounds, pool: pool)
                try Attention.computeReference(query: query, queryTokenStride: queryStride, keys: keys, values: values, shape: shape,
                                               causal: causal, firstPosition: first, scale: 1 / Float(dim).squareRoot(),
                                               output: &exact, outputTokenStride: outStride, roundsLikeGGML: rounds)
                try Attention.computeReference(query: query, queryTokenStride: queryStride, keys: keys, values: values, shape: shape,
                                               causal: causal, firstPosition: first, scale: 1 / Float(dim).squareRoot(),
                                               output: &unrounded, outputTokenStride: outStride)
            } } } }
            // Rounded probabilities computed in Float and in Double may round to neighbouring fp16
            // values (2^-11 apart), hence the looser bound with rounding on an fp16 cache.
            let rounding = rounds && cache == .f16
            expectClose(fast, exact, tolerance: rounding ? 1e-3 : 1e-5,
                        "attention \(cache) rounds \(rounds) t\(tokens) h\(heads)/\(kvHeads) causal \(causal)")
            let moved = zip(fast, unrounded).map { abs($0 - $1) }.max() ?? 0
            #expect(rounding ? moved > 1e-6 : moved < 1e-5, "attention \(cache) rounds \(rounds): moved \(moved)")
            }
        }
    }

    /// The fused Float32 route (unmasked, not causal: vision encoder and resampler) on every ISA
    /// level, against the Float64 reference and against the scalar C twin, on shapes that leave
    /// partial score tiles (rows not a multiple of 8 or 6, keys not of 32), partial value chunks
    /// (head widths 19, 72, 128) and grouped heads.
    @Test func fusedAttentionMatchesReferenceOnEveryISA() throws {
        var rng = SeededGenerator(seed: 11)
        let pool = ThreadPool(threadCount: 2)
        try forEachISA { isa in
            for (tokens, heads, kvHeads, dim, kvLength) in [(77, 5, 5, 72, 77), (40, 3, 1, 19, 131), (1, 2, 2, 128, 33),
                                                            (33, 1, 1, 16, 64), (130, 2, 1, 8, 7)] {
                let queryStride = heads * dim + 5
                let query = rng.floats(tokens * queryStride).map { $0 * 3 }
                let positionStride = kvHeads * dim + 2
                let k = rng.floats(kvLength * positionStride).map { $0 * 3 }, v = rng.floats(kvLength * positionStride)
                let shape = AttentionShape(tokens: tokens, heads: heads, kvHeads: kvHeads, headDimension: dim, kvLength: kvLength)
                let outStride = heads * dim
                let scale = 1 / Float(dim).squareRoot()
                var fast = [Float](repeating: .nan, count: tokens * outStride), exact = fast, twin = fast
                try k.withUnsafeBufferPointer { kb in try v.withUnsafeBufferPointer { vb in
                    let keys = KVTensor(base: UnsafeRawPointer(kb.baseAddress!), elementType: .f32,
                                        positionStride: positionStride, headStride: dim)
                    let values = KVTensor(base: UnsafeRawPointer(vb.baseAddress!), elementType: .f32,
                                          positionStride: positionStride, headStride: dim)
                    try Attention.compute(query: query, queryTokenStride: queryStride, keys: keys, values: values, shape: shape,
                                          causal: false, scale: scale, output: &fast, outputTokenStride: outStride, pool: pool)
                    try Attention.computeReference(query: query, queryTokenStride: queryStride, keys: keys, values: values,
                                                   shape: shape, causal: false, scale: scale, output: &exact,
                                                   outputTokenStride: outStride)
                    var scratch = [Float](repeating: 0, count: kvLength)
                    query.withUnsafeBufferPointer { qb in twin.withUnsafeMutableBufferPointer { ob in
                        for h in 0..<heads {
                            let g = h / (heads / kvHeads)
                            ck_attention_f32_ref(qb.baseAddress! + h * dim, Int64(queryStride), Int64(tokens),
                                                 kb.baseAddress! + g * dim, Int64(positionStride),
                                                 vb.baseAddress! + g * dim, Int64(positionStride), Int64(kvLength), Int64(dim),
                                                 scale, ob.baseAddress! + h * dim, Int64(outStride), &scratch)
                        }
                    } }
                } }
                let label = "fused attention \(isa) t\(tokens) h\(heads)/\(kvHeads) d\(dim) kv\(kvLength)"
                #expect(!fast.contains(where: \.isNaN) && !twin.contains(where: \.isNaN), "\(label): unwritten outputs")
                expectClose(fast, exact, tolerance: 1e-5, label)
                expectClose(twin, exact, tolerance: 1e-5, label + " (scalar twin)")
            }
        }
    }

    @Test func patchEmbeddingMatchesDirectConvolution() throws {
        var rng = SeededGenerator(seed: 8)
        let channels = 3, height = 44, width = 58, patch = 14, out = 10 // 3×4 patches
        let image = rng.floats(channels * height * width)
        let kernel = rng.floats(out * channels * patch * patch).map { Float16($0).bitPattern }
        let bias = rng.floats(out)
        let pool = ThreadPool(threadCount: 2)
        let patches = (height / patch) * (width / patch)
        var fast = [Float](repeating: 0, count: patches * out), exact = fast
        try kernel.withUnsafeBytes { raw in
            let weight = try WeightMatrix(type: .f16, rows: out, columns: channels * patch * patch, data: raw.baseAddress!)
            try PatchEmbedding.compute(image: image, channels: channels, height: height, width: width, patchSize: patch,
                                       weight: weight, bias: bias, output: &fast, pool: pool)
            PatchEmbedding.computeReference(image: image, channels: channels, height: height, width: width, patchSize: patch,
                                            weight: weight, bias: bias, output: &exact)
        }
        expectClose(fast, exact, tolerance: 1e-4, "patch embedding")
    }

    @Test(arguments: [false, true])
    func gemm(transposeB: Bool) {
        var rng = SeededGenerator(seed: 10)
        let m = 13, n = 150, k = 33
        let a = rng.floats(m * k), b = rng.floats(k * n)
        let ldb = transposeB ? k : n
        var fast = [Float](repeating: 0, count: m * n), exact = fast
        Gemm.compute(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: ldb, transposeB: transposeB, c: &fast, ldc: n, pool: ThreadPool(threadCount: 3))
        Gemm.computeReference(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: ldb, transposeB: transposeB, c: &exact, ldc: n)
        expectClose(fast, exact, tolerance: 1e-4, "gemm")
    }
}

@Suite struct HalfPrecisionTests {
    /// Against Swift's own Float16 conversions (IEEE, round to nearest even), incl. edge values.
    @Test func roundTripsLikeSwiftFloat16() {
        var rng = SeededGenerator(seed: 11)
        var values = rng.floats(1000, scale: 100)
        values += [0, -0, 65504, 65520, 1e-8, -6.1e-5, 3.0e-8, .infinity, -.infinity, 1 + 1.0 / 2048]
        var halves = [UInt16](repeating: 0, count: values.count)
        HalfPrecision.encode(values, into: &halves, count: values.count)
        #expect(halves == values.map { Float16($0).bitPattern })
        var back = [Float](repeating: 0, count: values.count)
        HalfPrecision.decode(halves, into: &back, count: values.count)
        #expect(back == values.map { Float(Float16($0)) })
    }
}
