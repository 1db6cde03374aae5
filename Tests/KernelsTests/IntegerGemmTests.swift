import CKernels
import GGUF
@testable import Kernels
import Testing

/// The strip-packed integer GEMM (`ck_gemm`, `MatMul.computeQuantizedGemm`): bit for bit its
/// scalar twin, the same products as the integer path, independent of the thread count.
@Suite(.serialized) struct IntegerGemmTests {
    static let types: [GGMLType] = [.q4_0, .q5_0, .q8_0]

    /// Odd shapes: partial strips (rows not a multiple of 32, fewer than 16 in the last group)
    /// and every activation-tile remainder (batch mod 6 = 1...5 and 0).
    @Test(arguments: types)
    func vectorKernelEqualsScalarTwinBitForBit(type: GGMLType) throws {
        let code = Int32(type.rawValue)
        for (rows, blocks, batch) in [(70, 3, 13), (7, 2, 6), (33, 5, 1), (20, 1, 10), (64, 2, 17)] {
            let (bytes, input, columns) = try MatMulTests.makeCase(type, rows: rows, blocks: blocks, batch: batch,
                                                                   seed: UInt64(rows * 31 + batch))
            let activationBytes = ck_activation_row_bytes(code, Int64(columns))
            var activations = [UInt8](repeating: 0, count: activationBytes * batch)
            for b in 0..<batch {
                input.withUnsafeBufferPointer { x in
                    activations.withUnsafeMutableBytes {
                        ck_prepare_activation(code, x.baseAddress! + b * columns, $0.baseAddress! + b * activationBytes, Int64(columns))
                    }
                }
            }
            let sideBytes = ck_gemm_side_row_bytes(Int64(columns))
            var side = [UInt8](repeating: 0, count: sideBytes * batch)
            activations.withUnsafeBytes { a in
                side.withUnsafeMutableBytes {
                    ck_gemm_prepare(code, Int64(columns), a.baseAddress!, activationBytes, Int64(batch), $0.baseAddress!)
                }
            }
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: ck_gemm_strip_bytes(Int64(columns)), alignment: 64)
            defer { scratch.deallocate() }
            var twin = [Float](repeating: 0, count: batch * rows)
            bytes.withUnsafeBytes { w in
                activations.withUnsafeBytes { a in
                    side.withUnsafeBytes { s in
                        ck_gemm_ref(code, Int64(columns), w.baseAddress!, w.count / rows, Int64(rows), a.baseAddress!,
                                    activationBytes, s.baseAddress!, Int64(batch), &twin, Int64(rows))
                    }
                }
            }
            try forEachISA { isa in
                var fast = [Float](repeating: .nan, count: batch * rows)
                bytes.withUnsafeBytes { w in
                    activations.withUnsafeBytes { a in
                        side.withUnsafeBytes { s in
                            ck_gemm(code, Int64(columns), w.baseAddress!, w.count / rows, Int64(rows), a.baseAddress!,
                                    activationBytes, s.baseAddress!, Int64(batch), &fast, Int64(rows), scratch)
                        }
                    }
                }
                #expect(fast.map(\.bitPattern) == twin.map(\.bitPattern),
                        "\(type) \(rows)x\(columns) batch \(batch) on \(isa) (vector kernel: \(ck_gemm_supported(code)))")
            }
        }
    }

    /// Same quantized activations and integer block sums as the scalar integer twin: only the
    /// float summation order differs (2e-5 of Σ|w·x|, as for the SGEMM route).
    @Test(arguments: types)
    func gemmRouteEqualsIntegerPath(type: GGMLType) throws {
        let pool = ThreadPool(threadCount: 2)
        for (rows, blocks, batch) in [(45, 3, 9), (77, 2, 33)] {
            let (bytes, input, columns) = try MatMulTests.makeCase(type, rows: rows, blocks: blocks, batch: batch,
                                                                   seed: UInt64(17 + batch))
            try bytes.withUnsafeBytes { raw in
                let weight = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                var scalar = [Float](repeating: 0, count: batch * rows)
                MatMul.computeQuantizedReference(weight: weight, input: input, batch: batch, output: &scalar)
                let magnitude = MatMulTests.magnitude(weight, input, batch: batch)
                try forEachISA { isa in
                    var gemm = [Float](repeating: .nan, count: batch * rows)
                    MatMul.computeQuantizedGemm(weight: weight, input: input, batch: batch, output: &gemm, pool: pool)
                    for i in 0..<scalar.count {
                        #expect(abs(Double(gemm[i]) - Double(scalar[i])) <= 2e-5 * magnitude[i] + 1e-6,
                                "\(type) \(isa) b\(batch) [\(i)]: gemm \(gemm[i]) vs integer \(scalar[i])")
                    }
                }
            }
        }
    }

    @Test(arguments: types)
    func resultsDoNotDependOnThreadCount(type: GGMLType) throws {
        let rows = 161, blocks = 4, batch = 40
        let (bytes, input, columns) = try MatMulTests.makeCase(type, rows: rows, blocks: blocks, batch: batch, seed: 8)
        try bytes.withUnsafeBytes { raw in
            let weight = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
            var results: [[Float]] = []
            for threads in [1, 2, 3] {
                var out = [Float](repeating: 0, count: batch * rows)
                MatMul.computeQuantizedGemm(weight: weight, input: input, batch: batch, output: &out,
                                            pool: ThreadPool(threadCount: threads))
                results.append(out)
            }
            #expect(results[1] == results[0] && results[2] == results[0], "\(type): thread counts differ")
        }
    }

    /// `computeCompatible` takes the GEMM from its threshold where the CPU has the kernel, and
    /// llama.cpp's decode order below it.
    @Test func compatibleProductRoutesToTheGemm() throws {
        let type = GGMLType.q4_0
        let pool = ThreadPool(threadCount: 2)
        let threshold = MatMul.integerGemmThreshold(for: type)
        #expect(MatMul.integerGemmThreshold(for: .q4_K) == Int.max)
        #expect(MatMul.integerGemmThreshold(for: .q8_0) == Int.max) // llama.cpp sums Q8_0 per lane
        #expect(threshold == (ck_gemm_supported(Int32(type.rawValue)) != 0 ? 8 : Int.max))
        guard threshold != Int.max else { return }
        let rows = 43  // not a multiple of 8: the gemv's one-row tail too
        let (bytes, input, columns) = try MatMulTests.makeCase(type, rows: rows, blocks: 2, batch: threshold, seed: 3)
        try bytes.withUnsafeBytes { raw in
            let weight = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
            var routed = [Float](repeating: 0, count: threshold * rows)
            var gemm = [Float](repeating: 0, count: threshold * rows)
            MatMul.computeCompatible(weight: weight, input: input, batch: threshold, output: &routed, pool: pool)
            MatMul.computeQuantizedGemm(weight: weight, input: input, batch: threshold, output: &gemm, pool: pool)
            #expect(routed == gemm)
            // Below it, llama.cpp's decode order (ck_gemv_ggml, x86): the GEMM's arithmetic, so
            // the same bits at any batch; elsewhere the register tiles.
            for batch in [1, threshold - 1] {
                var below = [Float](repeating: 0, count: batch * rows)
                var expected = [Float](repeating: 0, count: batch * rows)
                MatMul.computeCompatible(weight: weight, input: input, batch: batch, output: &below, pool: pool)
                if ck_gemv_ggml_supported(Int32(type.rawValue)) != 0 {
                    MatMul.computeQuantizedGemm(weight: weight, input: input, batch: batch, output: &expected, pool: pool)
                } else {
                    MatMul.computeQuantized(weight: weight, input: input, batch: batch, output: &expected, pool: pool)
                }
                #expect(below.map(\.bitPattern) == expected.map(\.bitPattern), "batch \(batch)")
            }
        }
    }
}
