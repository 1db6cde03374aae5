import ReferenceDelegateBuilder
import Backends
import Foundation
import GGUF
import Kernels
import Testing

@Suite struct PlacementTests {
    /// Ops covering what the delegate claims and what it declines.
    static func ops(_ q8: MatMulFixture, _ q4: ByteBuffer) -> [OpDescriptor] {
        [
            q8.op,
            .matMul(label: "blk.0.ffn_up.q4_0",
                    weight: TensorDescriptor(name: "w.q4", type: .q4_0, shape: [64, 256], data: UnsafeRawPointer(q4.pointer)),
                    batch: 2),
            .norm(.layerNorm, label: "v.blk.0.ln1", rows: 4, width: 64, eps: 1e-6),
            .norm(.rmsNorm, label: "blk.0.attn_norm", rows: 4, width: 64, eps: 1e-6),
            .gelu(label: "v.blk.0.ffn_gelu", shape: [4, 64], variant: .tanh),
            OpDescriptor(kind: .visionEncoder, label: "vision",
                         inputs: [TensorDescriptor(name: "pixels", type: .f32, shape: [3, 448, 448])],
                         outputs: [TensorDescriptor(name: "embeddings", type: .f32, shape: [1024, 1152])]),
        ]
    }

    @Test func delegateClaimsSubsetAndCPUGetsTheRest() throws {
        let paths = try ReferenceDelegateLibrary.paths()
        let placement = try BackendPlacement.fromConfiguration(["delegate:\(paths.good)", "cpu"])
        #expect(placement.backends.map(\.name) == ["reference", "cpu"])
        let q8 = MatMulFixture(type: .q8_0, batch: 2, seed: 1)
        let q4 = ByteBuffer([UInt8](repeating: 0, count: 64 * 8 * 18))
        let report = placement.report(for: Self.ops(q8, q4))
        #expect(report.backends == ["reference", "cpu"])
        #expect(report.entries.map(\.backend) == ["reference", "cpu", "reference", "cpu", "cpu", "cpu"])
        #expect(report.entries[0].reason == "claimed by reference")
        #expect(report.entries[0].declined.isEmpty)
        #expect(report.entries[1].declined.map(\.backend) == ["reference"])
        #expect(report.entries[1].declined[0].reason.contains("does not support matmul"))
        #expect(report.count(on: "reference") == 2)

        let json = try JSONEncoder().encode(report)
        let decoded = try JSONDecoder().decode(PlacementReport.self, from: json)
        #expect(decoded == report)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains("\"kind\":\"matmul\"") || text.contains("\"kind\":1"))
    }

    @Test func refusingDelegatePlacesEverythingOnCPU() throws {
        let paths = try ReferenceDelegateLibrary.paths()
        let placement = try BackendPlacement.fromConfiguration(["delegate:\(paths.good),refuse=1"])
        let q8 = MatMulFixture(type: .q8_0, batch: 2, seed: 2)
        let q4 = ByteBuffer([UInt8](repeating: 0, count: 64 * 8 * 18))
        let report = placement.report(for: Self.ops(q8, q4))
        #expect(report.entries.allSatisfy { $0.backend == "cpu" })
        #expect(report.entries.allSatisfy { $0.declined.map(\.backend) == ["reference"] })
    }

    @Test func cpuOnlyAndCPUAlwaysLast() throws {
        let placement = try BackendPlacement.fromConfiguration(["cpu"])
        #expect(placement.backends.map(\.name) == ["cpu"])
        let paths = try ReferenceDelegateLibrary.paths()
        let reordered = try BackendPlacement.fromConfiguration(["cpu", "delegate:\(paths.good)"])
        #expect(reordered.backends.map(\.name) == ["reference", "cpu"])
    }

    @Test func configurationParsing() throws {
        #expect(try BackendConfiguration(parsing: " cpu ") == .cpu)
        #expect(try BackendConfiguration(parsing: "delegate:/opt/npu/lib.so") == .delegate(path: "/opt/npu/lib.so", options: ""))
        #expect(try BackendConfiguration(parsing: "delegate:/x.so,a=1,b=2") == .delegate(path: "/x.so", options: "a=1,b=2"))
        #expect(throws: BackendsError.self) { try BackendConfiguration(parsing: "gpu") }
        #expect(throws: BackendsError.self) { try BackendConfiguration(parsing: "delegate:") }
    }

    @Test func shapeBucketsChooseSmallestFit() {
        let buckets = [ShapeBucket(kind: .visionEncoder, shape: [3, 448, 448]),
                       ShapeBucket(kind: .visionEncoder, shape: [3, 224, 224])]
        #expect(ShapeBucket.smallest(in: buckets, containing: [3, 200, 220])?.shape == [3, 224, 224])
        #expect(ShapeBucket.smallest(in: buckets, containing: [3, 300, 100])?.shape == [3, 448, 448])
        #expect(ShapeBucket.smallest(in: buckets, containing: [3, 500, 100]) == nil)
    }
}

@Suite struct PlacementFallbackTests {
    @Test func prepareFailureMovesOpToCPUAtPlanTime() throws {
        let paths = try ReferenceDelegateLibrary.paths()
        let executor = FallbackExecutor(placement: try BackendPlacement.fromConfiguration(["delegate:\(paths.good),prepare_fail=1"]))
        let fixture = MatMulFixture(type: .f16, batch: 2, seed: 5)
        let planned = try executor.plan(fixture.op)
        #expect(planned.placement.backend == "cpu")
        #expect(planned.placement.declined.first?.reason.contains("graph compilation failed") == true)
        let output = fixture.output()
        let record = try executor.run(planned, inputs: [fixture.input.tensor([2, fixture.columns])], outputs: [output.tensor([2, fixture.rows])])
        #expect(record.backend == "cpu" && !record.fellBack)
        #expect(output.values == (try FallbackTests.cpuOutput(fixture)))
    }

    @Test func delegateShapeBucketsGatePlacement() throws {
        let paths = try ReferenceDelegateLibrary.paths()
        let placement = try BackendPlacement.fromConfiguration(["delegate:\(paths.good),bucket_batch=4"])
        let delegate = try #require(placement.backends.first)
        #expect(delegate.shapeBuckets(for: .matMul) == [ShapeBucket(kind: .matMul, shape: [4, 65536])])
        #expect(delegate.shapeBuckets(for: .layerNorm).isEmpty)
        let small = MatMulFixture(type: .f32, batch: 3, seed: 6)
        let large = MatMulFixture(type: .f32, batch: 9, seed: 7)
        let report = placement.report(for: [small.op, large.op])
        #expect(report.entries.map(\.backend) == ["reference", "cpu"])
        #expect(report.entries[0].bucket == [4, 65536])
        #expect(report.entries[1].declined.first?.reason.contains("no shape bucket") == true)
    }

    @Test func stagesRunOnlyAtABucketsExactShape() throws {
        let paths = try ReferenceDelegateLibrary.paths()
        let placement = try BackendPlacement.fromConfiguration(["delegate:\(paths.good),stage_side=448"])
        func encoder(_ height: Int, _ width: Int) -> OpDescriptor {
            OpDescriptor(kind: .visionEncoder, label: "vision_encoder",
                         inputs: [TensorDescriptor(name: "pixels", type: .f32, shape: [3, height, width])],
                         outputs: [TensorDescriptor(name: "features", type: .f32, shape: [height * width / 196, 1152])])
        }
        let report = placement.report(for: [encoder(448, 448), encoder(448, 336), encoder(588, 588)])
        #expect(report.entries.map(\.backend) == ["reference", "cpu", "cpu"])
        #expect(report.entries[0].bucket == [3, 448, 448])
        #expect(report.entries[1].declined.first?.reason.contains("stages are not padded") == true)
        #expect(report.entries[2].declined.first?.reason.contains("no shape bucket") == true)
        // Claimed but not computable here: planning falls back to the CPU and says why.
        let executor = FallbackExecutor(placement: placement)
        let planned = try executor.plan(encoder(448, 448))
        #expect(planned.placement.backend == "cpu")
        #expect(planned.placement.declined.first?.reason.contains("prepare failed") == true)
    }
}
