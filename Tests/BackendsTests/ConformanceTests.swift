import ReferenceDelegateBuilder
import Backends
import GGUF
import Kernels
import Testing

/// Every op the CPU backend computes, run on the CPU and (where it claims it) on the reference
/// delegate, each compared with the Kernels' Float64 references on random data.
///
/// Tolerances (max |error| relative to the reference output's RMS): the delegate computes in
/// Float64 from exactly decoded weights, so 1e-5. The CPU quantizes activations like ggml for
/// small batches (fp16 for F16 weights, Q8_0 for Q8_0 weights): 1e-4 (F32), 2e-3 (F16), 2e-2 (Q8_0).
@Suite struct ConformanceTests {
    static let cpuTolerance: [GGMLType: Float] = [.f32: 1e-4, .f16: 2e-3, .q8_0: 2e-2]

    @Test(arguments: [GGMLType.f32, .f16, .q8_0], [1, 3, 9])
    func matMulMatchesOnCPUAndDelegate(type: GGMLType, batch: Int) throws {
        let paths = try ReferenceDelegateLibrary.paths()
        let delegate = try DelegateBackend(path: paths.good)
        let cpu = CPUBackend(pool: ThreadPool(threadCount: 2))
        let fixture = MatMulFixture(type: type, batch: batch, seed: UInt64(batch) &* 7919 &+ UInt64(type.rawValue))
        #expect(delegate.supports(fixture.op))

        let reference = fixture.output()
        let weight = try WeightMatrix(type: type, rows: fixture.rows, columns: fixture.columns,
                                      data: UnsafeRawPointer(fixture.weights.pointer))
        MatMul.computeReference(weight: weight, input: fixture.input.pointer, batch: batch, output: reference.pointer)
        let scale = max(rms(reference.values), 1e-6)

        let onDelegate = fixture.output()
        let prepared = try delegate.prepare(fixture.op)
        try delegate.run(prepared, inputs: [fixture.input.tensor([batch, fixture.columns])],
                         outputs: [onDelegate.tensor([batch, fixture.rows])])
        delegate.release(prepared)

        let onCPU = fixture.output()
        let cpuPrepared = try cpu.prepare(fixture.op)
        try cpu.run(cpuPrepared, inputs: [fixture.input.tensor([batch, fixture.columns])],
                    outputs: [onCPU.tensor([batch, fixture.rows])])

        #expect(maxAbsDifference(onDelegate.values, reference.values) / scale <= 1e-5)
        let tolerance = try #require(Self.cpuTolerance[type])
        #expect(maxAbsDifference(onCPU.values, reference.values) / scale <= tolerance)
        #expect(maxAbsDifference(onCPU.values, onDelegate.values) / scale <= tolerance)
    }

    @Test(arguments: [false, true])
    func layerNormMatchesOnCPUAndDelegate(affine: Bool) throws {
        let paths = try ReferenceDelegateLibrary.paths()
        let delegate = try DelegateBackend(path: paths.good)
        let cpu = CPUBackend(pool: ThreadPool(threadCount: 1))
        let rows = 5, width = 96
        var rng = SeededGenerator(seed: affine ? 11 : 12)
        let input = FloatBuffer(rng.floats(rows * width, scale: 3).map { $0 + 0.5 })
        let gamma = FloatBuffer(rng.floats(width))
        let beta = FloatBuffer(rng.floats(width))
        let op = OpDescriptor.norm(.layerNorm, label: "test.ln", rows: rows, width: width, eps: 1e-6,
                                   weight: affine ? TensorDescriptor(name: "g", type: .f32, shape: [width], data: UnsafeRawPointer(gamma.pointer)) : nil,
                                   bias: affine ? TensorDescriptor(name: "b", type: .f32, shape: [width], data: UnsafeRawPointer(beta.pointer)) : nil)
        #expect(delegate.supports(op))
        let reference = FloatBuffer(zeros: rows * width)
        LayerNorm.applyReference(input: input.pointer, weight: affine ? UnsafePointer(gamma.pointer) : nil,
                                 bias: affine ? UnsafePointer(beta.pointer) : nil, output: reference.pointer,
                                 rows: rows, width: width, eps: 1e-6)
        var results: [[Float]] = []
        for backend in [delegate as any Backend, cpu] {
            let output = FloatBuffer(zeros: rows * width)
            let prepared = try backend.prepare(op)
            try backend.run(prepared, inputs: [input.tensor([rows, width])], outputs: [output.tensor([rows, width])])
            backend.release(prepared)
            results.append(output.values)
        }
        let scale = rms(reference.values)
        #expect(maxAbsDifference(results[0], reference.values) / scale <= 1e-5)
        #expect(maxAbsDifference(results[1], reference.values) / scale <= 1e-5)
    }

    /// The CPU's other ops (the delegate declines them) against independent formulas.
    @Test func cpuRMSNormAndGELUMatchReferences() throws {
        let paths = try ReferenceDelegateLibrary.paths()
        let delegate = try DelegateBackend(path: paths.good)
        let cpu = CPUBackend(pool: ThreadPool(threadCount: 1))
        let rows = 4, width = 64
        var rng = SeededGenerator(seed: 99)
        let input = FloatBuffer(rng.floats(rows * width, scale: 4))
        let gamma = FloatBuffer(rng.floats(width))
        let rmsOp = OpDescriptor.norm(.rmsNorm, label: "test.rms", rows: rows, width: width, eps: 1e-5,
                                      weight: TensorDescriptor(name: "g", type: .f32, shape: [width], data: UnsafeRawPointer(gamma.pointer)))
        let geluOp = OpDescriptor.gelu(label: "test.gelu", shape: [rows, width], variant: .erf)
        #expect(!delegate.supports(rmsOp))
        #expect(!delegate.supports(geluOp))

        let x = input.values, g = gamma.values
        var expectedRMS: [Float] = []
        for r in 0..<rows {
            let row = x[(r * width)..<((r + 1) * width)]
            let meanSquare = row.map { Double($0) * Double($0) }.reduce(0, +) / Double(width)
            let scale = 1 / (meanSquare + 1e-5).squareRoot()
            expectedRMS += row.enumerated().map { Float(Double($0.element) * scale * Double(g[$0.offset])) }
        }
        let expectedGELU = x.map { v -> Float in Float(0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot()))) }

        for (op, expected) in [(rmsOp, expectedRMS), (geluOp, expectedGELU)] {
            let output = FloatBuffer(zeros: rows * width)
            try cpu.run(try cpu.prepare(op), inputs: [input.tensor([rows, width])], outputs: [output.tensor([rows, width])])
            #expect(maxAbsDifference(output.values, expected) <= 1e-5, "\(op.kind)")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
