import GGUF
@testable import Kernels
import Testing

/// Mat-mul paths against each other and against a Float64 dequantize-then-dot reference.
@Suite(.serialized) struct MatMulTests {
    static let types: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    /// Relative error allowed against the Float64 reference, as a fraction of Σ|w·x|: the
    /// activation rounding of each path (8-bit blocks: ≤ 1/254 of the block maximum per element).
    static func activationTolerance(_ type: GGMLType) -> Double {
        switch type {
        case .f32: 1e-6
        case .f16: 1e-3
        case .bf16: 8e-3
        default: 1.2e-2
        }
    }

    struct Case {
        let weight: WeightMatrix
        let bytes: [UInt8]
        let input: [Float]
        let batch: Int
        /// Σ_c |W[r,c]·x[b,c]| per output, the scale of rounding errors.
        let magnitude: [Double]
        let reference: [Float]
    }

    static func makeCase(_ type: GGMLType, rows: Int, blocks: Int, batch: Int, seed: UInt64) throws -> (bytes: [UInt8], input: [Float], columns: Int) {
        var rng = SeededGenerator(seed: seed)
        let columns = type.blockSize == 1 ? 37 * blocks : type.blockSize * blocks
        let bytes = randomWeightBytes(type, rows: rows, columns: columns, rng: &rng)
        let input = rng.floats(batch * columns)
        return (bytes, input, columns)
    }

    static func magnitude(_ weight: WeightMatrix, _ input: [Float], batch: Int) -> [Double] {
        var row = [Float](repeating: 0, count: weight.columns)
        var result = [Double](repeating: 0, count: batch * weight.rows)
        for r in 0..<weight.rows {
            row.withUnsafeMutableBufferPointer { weight.dequantizeRow(r, into: $0.baseAddress!) }
            for b in 0..<batch {
                var s = 0.0
                for c in 0..<weight.columns { s += abs(Double(row[c]) * Double(input[b * weight.columns + c])) }
                result[b * weight.rows + r] = s
            }
        }
        return result
    }

    @Test(arguments: types)
    func quantizedPathMatchesBothReferences(type: GGMLType) throws {
        let pool = ThreadPool(threadCount: 3)
        for (rows, blocks, batch) in [(1, 1, 1), (7, 3, 2), (37, 2, 5), (19, 5, 7)] {
            let (bytes, input, columns) = try Self.makeCase(type, rows: rows, blocks: blocks, batch: batch, seed: UInt64(rows * 1000 + batch))
            try bytes.withUnsafeBytes { raw in
                let weight = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                var exact = [Float](repeating: 0, count: batch * rows)
                var scalar = [Float](repeating: 0, count: batch * rows)
                MatMul.computeReference(weight: weight, input: input, batch: batch, output: &exact)
                MatMul.computeQuantizedReference(weight: weight, input: input, batch: batch, output: &scalar)
                let magnitude = Self.magnitude(weight, input, batch: batch)
                for i in 0..<exact.count {
                    let allowed = Self.activationTolerance(type) * magnitude[i] + 1e-6
                    #expect(abs(Double(scalar[i]) - Double(exact[i])) <= allowed,
                            "\(type) \(rows)x\(columns) b\(batch) [\(i)]: scalar \(scalar[i]) vs exact \(exact[i])")
                }
                try forEachISA { isa in
                    var fast = [Float](repeating: 0, count: batch * rows)
                    MatMul.computeQuantized(weight: weight, input: input, batch: batch, output: &fast, pool: pool)
                    for i in 0..<exact.count {
                        // Same integer sums; only float summation order differs.
                        let allowed = 2e-5 * magnitude[i] + 1e-6
                        #expect(abs(Double(fast[i]) - Double(scalar[i])) <= allowed,
                                "\(type) \(isa) \(rows)x\(columns) b\(batch) [\(i)]: fast \(fast[i]) vs scalar \(scalar[i])")
                    }
                    _ = try #require(fast.allSatisfy { $0.isFinite })
                }
            }
        }
    }

    /// The register-tiled Q4_0/Q5_0/Q8_0 products give every (row, token) the same arithmetic
    /// whatever tile, batch or thread split it falls in: a batch equals its rows computed alone,
    /// bit for bit (decode and prefill agree), on every ISA level.
    @Test(arguments: [GGMLType.q4_0, .q5_0, .q8_0, .q4_K, .f16])
    func batchResultsEqualSingleRowResults(type: GGMLType) throws {
        let pool = ThreadPool(threadCount: 3)
        let rows = 23, blocks = 4, batch = 11
        let (bytes, input, columns) = try Self.makeCase(type, rows: rows, blocks: blocks, batch: batch, seed: 4242)
        try bytes.withUnsafeBytes { raw in
            let weight = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
            try forEachISA { isa in
                var all = [Float](repeating: 0, count: batch * rows)
                MatMul.computeQuantized(weight: weight, input: input, batch: batch, output: &all, pool: pool)
                for b in 0..<batch {
                    var one = [Float](repeating: 0, count: rows)
                    Array(input[(b * columns)..<((b + 1) * columns)]).withUnsafeBufferPointer { x in
                        MatMul.computeQuantized(weight: weight, input: x.baseAddress!, batch: 1, output: &one, pool: pool)
                    }
                    #expect(Array(all[(b * rows)..<((b + 1) * rows)]) == one, "\(type) \(isa) token \(b)")
                }
            }
        }
    }

    /// On x86 the AVX-512 tiles keep the AVX2 tiles' order for every (row, activation): 8 lanes
    /// per block, one FMA per block in block order, ggml's hsum_float_8 at the end. That order
    /// is ggml's own for Q5_0/Q8_0, so the two levels must agree bit for bit, for inline (batch
    /// ≤ 3) and packed tiles and odd row counts (a half-empty row pair).
    @Test(arguments: [GGMLType.q4_0, .q5_0, .q8_0])
    func x86LevelsGiveIdenticalProducts(type: GGMLType) throws {
        guard KernelsInfo.availableISAs.contains(.avx512VNNI) else { return }
        let pool = ThreadPool(threadCount: 2)
        for (rows, blocks, batch) in [(7, 5, 1), (13, 3, 2), (9, 28, 3), (11, 4, 7), (6, 2, 4)] {
            let (bytes, input, columns) = try Self.makeCase(type, rows: rows, blocks: blocks, batch: batch, seed: UInt64(500 + rows))
            try bytes.withUnsafeBytes { raw in
                let weight = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                var byLevel: [KernelISA: [UInt32]] = [:]
                try forEachISA { isa in
                    var out = [Float](repeating: .nan, count: batch * rows)
                    MatMul.computeQuantized(weight: weight, input: input, batch: batch, output: &out, pool: pool)
                    byLevel[isa] = out.map(\.bitPattern)
                }
                #expect(byLevel[.avx2] == byLevel[.avx512VNNI], "\(type) \(rows)x\(columns) batch \(batch)")
            }
        }
    }

    /// The SGEMM route of the llama.cpp-compatible product multiplies the same quantized
    /// activations as the integer path: it must agree with the scalar integer twin to float
    /// rounding (2e-5 of Σ|w·x|), 50x tighter than the activation quantization it keeps.
    @Test(arguments: types)
    func compatibleSGEMMRouteEqualsIntegerPath(type: GGMLType) throws {
        let pool = ThreadPool(threadCount: 2)
        for (rows, blocks, batch) in [(45, 3, 9), (17, 2, 33)] {
            let (bytes, input, columns) = try Self.makeCase(type, rows: rows, blocks: blocks, batch: batch, seed: UInt64(91 + batch))
            try bytes.withUnsafeBytes { raw in
                let weight = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                var scalar = [Float](repeating: 0, count: batch * rows)
                var viaSGEMM = [Float](repeating: 0, count: batch * rows)
                MatMul.computeQuantizedReference(weight: weight, input: input, batch: batch, output: &scalar)
                MatMul.computeQuantizedBatched(weight: weight, input: input, batch: batch, output: &viaSGEMM, pool: pool)
                let magnitude = Self.magnitude(weight, input, batch: batch)
                // Q4_1/Q5_1: ggml adds min × (fp16-rounded activation sum); the float route
                // uses the unrounded sum (why `computeCompatible` keeps them on integers).
                let relative = type == .q4_1 || type == .q5_1 ? 2e-3 : 2e-5
                for i in 0..<scalar.count {
                    #expect(abs(Double(viaSGEMM[i]) - Double(scalar[i])) <= relative * magnitude[i] + 1e-6,
                            "\(type) \(rows)x\(columns) b\(batch) [\(i)]: sgemm route \(viaSGEMM[i]) vs integer \(scalar[i])")
                }
            }
        }
    }

    /// Lent memory (the input given up, a caller's dead buffer for the panel) changes where the
    /// route works, not what it computes: the same floats as with its own scratch, also when the
    /// lent panel holds fewer rows than the matrix (several panels).
    @Test(arguments: [GGMLType.f16, .q8_0])
    func lentBuffersGiveTheSameProduct(type: GGMLType) throws {
        let pool = ThreadPool(threadCount: 2)
        let rows = 600, batch = 12
        let (bytes, input, columns) = try Self.makeCase(type, rows: rows, blocks: 2, batch: batch, seed: 77)
        try bytes.withUnsafeBytes { raw in
            let weight = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
            var own = [Float](repeating: 0, count: batch * rows)
            MatMul.computeQuantizedBatched(weight: weight, input: input, batch: batch, output: &own, pool: pool)
            for panelRows in [MatMul.minimumLentPanelRows, 400, rows, 0] {
                var disposable = input
                var panel = [Float](repeating: .nan, count: panelRows * columns)
                var lent = [Float](repeating: 0, count: batch * rows)
                disposable.withUnsafeMutableBufferPointer { x in
                    panel.withUnsafeMutableBufferPointer { p in
                        MatMul.computeQuantizedBatched(
                            weight: weight, input: x.baseAddress!, batch: batch, output: &lent, pool: pool,
                            lent: MatMul.LentBuffers(inputIsDisposable: true, panel: panelRows == 0 ? nil : p))
                    }
                }
                #expect(lent == own, "\(type) lent panel of \(panelRows) rows")
                if panelRows > 0 { #expect(!panel[0].isNaN, "\(type): the lent panel was used") }
            }
        }
    }

    @Test func compatibleProductRoutesByBatchSize() throws {
        #expect(MatMul.compatibleBatchedThreshold(for: .q4_1) == Int.max)
        #expect(MatMul.compatibleBatchedThreshold(for: .q5_1) == Int.max)
        let pool = ThreadPool(threadCount: 2)
        let type = GGMLType.f16
        let batch = MatMul.compatibleBatchedThreshold(for: type)
        let rows = 9
        let (bytes, input, columns) = try Self.makeCase(type, rows: rows, blocks: 2, batch: batch, seed: 5)
        try bytes.withUnsafeBytes { raw in
            let weight = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
            var routed = [Float](repeating: 0, count: batch * rows)
            var sgemm = [Float](repeating: 0, count: batch * rows)
            MatMul.computeCompatible(weight: weight, input: input, batch: batch, output: &routed, pool: pool)
            MatMul.computeQuantizedBatched(weight: weight, input: input, batch: batch, output: &sgemm, pool: pool)
            #expect(routed == sgemm)
            var small = [Float](repeating: 0, count: rows)
            var integer = [Float](repeating: 0, count: rows)
            MatMul.computeCompatible(weight: weight, input: input, batch: 1, output: &small, pool: pool)
            MatMul.computeQuantized(weight: weight, input: input, batch: 1, output: &integer, pool: pool)
            #expect(small == integer)
        }
    }

    @Test(arguments: types)
    func batchedPathMatchesFloat64Reference(type: GGMLType) throws {
        let pool = ThreadPool(threadCount: 2)
        let rows = 45, blocks = 3, batch = 9
        let (bytes, input, columns) = try Self.makeCase(type, rows: rows, blocks: blocks, batch: batch, seed: 77)
        try bytes.withUnsafeBytes { raw in
            let weight = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
            var exact = [Float](repeating: 0, count: batch * rows)
            var fast = [Float](repeating: 0, count: batch * rows)
            MatMul.computeReference(weight: weight, input: input, batch: batch, output: &exact)
            MatMul.computeBatched(weight: weight, input: input, batch: batch, output: &fast, pool: pool)
            let magnitude = Self.magnitude(weight, input, batch: batch)
            for i in 0..<exact.count {
                #expect(abs(Double(fast[i]) - Double(exact[i])) <= 1e-5 * magnitude[i] + 1e-6,
                        "\(type) [\(i)]: batched \(fast[i]) vs exact \(exact[i])")
            }
        }
    }

    @Test(arguments: [GGMLType.q4_0, .q4_K, .f16])
    func resultsDoNotDependOnThreadCount(type: GGMLType) throws {
        let rows = 133, blocks = 4
        for batch in [1, 3, 20, 70] { // 70: the SGEMM path
            let (bytes, input, columns) = try Self.makeCase(type, rows: rows, blocks: blocks, batch: batch, seed: 5)
            try bytes.withUnsafeBytes { raw in
                let weight = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                var results: [[Float]] = []
                for threads in [1, 2, 3, 4] {
                    let pool = ThreadPool(threadCount: threads)
                    var out = [Float](repeating: 0, count: batch * rows)
                    // Bit-identical results whatever the thread count: compare whole arrays.
                    MatMul.compute(weight: weight, input: input, batch: batch, output: &out, pool: pool)
                    results.append(out)
                }
                for (i, r) in results.enumerated().dropFirst() {
                    let identical = r == results[0]
                    #expect(identical, "\(type) batch \(batch): \(i + 1) threads differ from 1 thread")
                }
            }
        }
    }

    /// The scalar activation quantizer and the dispatched one must write identical bytes.
    @Test(arguments: [GGMLType.q4_0, .q4_1, .q4_K, .f16, .bf16])
    func activationQuantizersAgree(type: GGMLType) throws {
        var rng = SeededGenerator(seed: 9)
        let columns = 1024
        var input = rng.floats(columns, scale: 3)
        input[5] = 0
        input[40] = 2.5 // a tie candidate after scaling is unlikely but harmless
        for i in 256..<288 { input[i] = 0 } // an all-zero 32-block
        let t = Int32(type.rawValue)
        let bytes = ck_activation_row_bytes(t, Int64(columns))
        var a = [UInt8](repeating: 0, count: bytes), b = [UInt8](repeating: 1, count: bytes)
        try forEachISA { _ in
            ck_prepare_activation(t, input, &a, Int64(columns))
            ck_prepare_activation_ref(t, input, &b, Int64(columns))
            #expect(a == b)
            _ = try #require(a == b)
        }
    }
}

import CKernels

/// Decode products of F16 weights go through four-row strips on AVX-512 (four memory streams);
/// each row must be the row-at-a-time dot product bit for bit, so llama.cpp parity is unchanged.
@Suite struct F16StripTests {
    @Test(arguments: [1, 2, 3])
    func stripsEqualRowDots(batch: Int) throws {
        var rng = SeededGenerator(seed: 21)
        for (rows, columns) in [(67, 200), (8, 64), (5, 1031)] {
            let bytes = randomWeightBytes(.f16, rows: rows, columns: columns, rng: &rng)
            let input = rng.floats(batch * columns)
            var product = [Float](repeating: .nan, count: batch * rows)
            var dots = [Float](repeating: .nan, count: batch * rows)
            try forEachISA { isa in
                try bytes.withUnsafeBytes { raw in
                    let weight = try WeightMatrix(type: .f16, rows: rows, columns: columns, data: raw.baseAddress!)
                    MatMul.computeQuantized(weight: weight, input: input, batch: batch, output: &product,
                                            pool: ThreadPool(threadCount: 2))
                    // The activation row as the product prepares it, then one dot per (row, batch).
                    let activationBytes = ck_activation_row_bytes(Int32(GGMLType.f16.rawValue), Int64(columns))
                    var activation = [UInt8](repeating: 0, count: activationBytes)
                    for b in 0..<batch {
                        input.withUnsafeBufferPointer { x in
                            ck_prepare_activation(Int32(GGMLType.f16.rawValue), x.baseAddress! + b * columns, &activation, Int64(columns))
                        }
                        for r in 0..<rows {
                            dots[b * rows + r] = ck_vec_dot(Int32(GGMLType.f16.rawValue), Int64(columns),
                                                            weight.rowPointer(r), activation)
                        }
                    }
                }
                #expect(product.map(\.bitPattern) == dots.map(\.bitPattern), "\(isa), \(rows)x\(columns), batch \(batch)")
            }
        }
    }
}
