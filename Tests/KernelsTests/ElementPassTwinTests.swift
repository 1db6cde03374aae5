import CKernels
import Testing

/// The vectorised element passes against their scalar C twins: bit for bit where the twin is
/// exact (scale/max, the GELU table, which feed what must match llama.cpp), within 2 ulp for the
/// polynomial exponentials.
@Suite struct ElementPassTwinTests {
    @Test(arguments: [false, true])
    func scaleMaxMatchesItsTwin(masked: Bool) {
        var rng = SeededGenerator(seed: 11)
        for n in [0, 1, 7, 8, 9, 131, 1024, 1027] {
            var x = rng.floats(n, scale: 6)
            if n > 3 { x[3] = 1e30 }
            var mask = rng.floats(n)
            for i in stride(from: 0, to: n, by: 5) { mask[i] = -.infinity }
            var fast = [Float](repeating: .nan, count: n), twin = fast
            let got = mask.withUnsafeBufferPointer { m in
                ck_scale_max(&fast, x, masked ? m.baseAddress : nil, Int64(n), 0.125)
            }
            let want = mask.withUnsafeBufferPointer { m in
                ck_scale_max_ref(&twin, x, masked ? m.baseAddress : nil, Int64(n), 0.125)
            }
            #expect(got.bitPattern == want.bitPattern, "max for n=\(n)")
            #expect(fast.map(\.bitPattern) == twin.map(\.bitPattern), "values for n=\(n)")
            if n == 0 { #expect(got == -.infinity) }
        }
    }

    @Test func exponentialsMatchLibm() {
        for n in [1, 15, 16, 17, 1024, 1031] {
            var x = (0..<n).map { -95 + 100 * Float($0) / Float(max(1, n - 1)) }
            if n > 3 { x[3] = -.infinity }
            var fast = [Float](repeating: .nan, count: n), twin = fast
            let sum = ck_exp_shifted(&fast, x, Int64(n), 2)
            let want = ck_exp_shifted_ref(&twin, x, Int64(n), 2)
            for i in 0..<n {
                #expect(abs(Double(fast[i]) - Double(twin[i])) <= Double(twin[i]) * 3e-7 + 1e-37,
                        "n=\(n) x=\(x[i]): \(fast[i]) vs \(twin[i])")
            }
            #expect(abs(sum - want) <= want * 1e-6 + 1e-37 * Double(n), "sum for n=\(n)") // flushed denormals
        }
    }

    /// SwiGLU on the polynomial exponential, every ISA level, against libm: a few ulp, and the
    /// tails (silu → x for large x, → −0 for very negative x) as libm gives them.
    @Test func swigluMatchesLibm() throws {
        var rng = SeededGenerator(seed: 13)
        for n in [1, 7, 8, 15, 16, 17, 4864, 4867] {
            var g = rng.floats(n, scale: 8)
            if n > 4 { g[1] = 100; g[2] = -100; g[3] = -1e30; g[4] = 0 }
            let u = rng.floats(n, scale: 2)
            try forEachISA { isa in
                var fast = [Float](repeating: .nan, count: n), twin = fast
                ck_swiglu(&fast, g, u, Int64(n))
                ck_swiglu_ref(&twin, g, u, Int64(n))
                for i in 0..<n {
                    #expect(abs(fast[i] - twin[i]) <= abs(twin[i]) * 6e-7 + 1e-30,
                            "\(isa) n=\(n) g=\(g[i]) u=\(u[i]): \(fast[i]) vs \(twin[i])")
                }
            }
        }
    }

    @Test func geluTableMatchesItsTwin() {
        var rng = SeededGenerator(seed: 12)
        var x = rng.floats(100_003, scale: 5)
        x += [-10, 10, 9.999, -9.999, -0.0, 0, 65504, -65504, 1e-8, -1e-8, 3.0e-5, .infinity, -.infinity]
        var fast = [Float](repeating: 0, count: x.count), twin = fast
        ck_gelu_fp16_table(x, &fast, Int64(x.count))
        ck_gelu_fp16_table_ref(x, &twin, Int64(x.count))
        let mismatches = (0..<x.count).filter { fast[$0].bitPattern != twin[$0].bitPattern }
        #expect(mismatches.isEmpty, "first mismatches at x = \(mismatches.prefix(5).map { x[$0] })")
    }
}
