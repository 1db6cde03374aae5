import Foundation
import GGUF
import Kernels
import Testing
@testable import Models

/// The vision tower against an independent numpy transcription of the SigLIP encoder and the
/// resampler (tools/testdata/vision.py), on a random-weight mmproj in the legacy layout.
@Suite struct MiniCPMVVisionTowerTests {
    struct Manifest: Decodable {
        struct Case: Decodable { let name: String; let height: Int; let width: Int; let grid: [Int] }
        let mmproj: String
        let width: Int
        let embedding: Int
        let queries: Int
        let cases: [Case]
    }

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".testdata/vision")

    static func manifest() throws -> Manifest {
        let url = directory.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: url) else {
            Issue.record("missing \(url.path): run scripts/gen-testdata.sh")
            throw CocoaError(.fileNoSuchFile)
        }
        return try JSONDecoder().decode(Manifest.self, from: data)
    }

    static func floats(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// Largest |a−b| relative to the largest |b|.
    static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        var worst: Float = 0, scale: Float = 0
        for i in b.indices { worst = max(worst, abs(a[i] - b[i])); scale = max(scale, abs(b[i])) }
        return worst / max(scale, 1e-12)
    }

    @Test func configurationFromLegacyFile() throws {
        let m = try Self.manifest()
        let pool = ThreadPool(threadCount: 2)
        let tower = try MiniCPMVVisionTower(path: Self.directory.appendingPathComponent(m.mmproj).path, pool: pool)
        let c = tower.configuration
        #expect(c.version == 3)
        #expect(c.width == m.width)
        #expect(c.embeddingWidth == m.embedding)
        #expect(c.queryCount == m.queries)
        #expect(c.positionGridSide == 70)
        #expect(c.activation == .geluTanh)
        #expect(c.imageMean == [0.5, 0.5, 0.5])
        #expect(tower.unusedTensors.isEmpty)
        #expect(throws: ModelsError.self) { try tower.checkCompatible(modelWidth: m.embedding + 128, modelPath: "llm.gguf") }
    }

    @Test func encoderAndResamplerMatchNumpy() throws {
        let m = try Self.manifest()
        for threads in [1, 2] {
            let pool = ThreadPool(threadCount: threads)
            let tower = try MiniCPMVVisionTower(path: Self.directory.appendingPathComponent(m.mmproj).path, pool: pool)
            for testCase in m.cases {
                let pixels = try Self.floats("\(testCase.name).pixels.f32")
                let expectedFeatures = try Self.floats("\(testCase.name).vit.f32")
                let expectedEmbeddings = try Self.floats("\(testCase.name).embeddings.f32")
                var timings = VisionTimings()
                let (features, embeddings) = try pixels.withUnsafeBufferPointer { p in
                    let base = try #require(p.baseAddress)
                    return (try tower.encoderFeatures(pixels: base, height: testCase.height, width: testCase.width, pool: pool),
                            try tower.embed(pixels: base, height: testCase.height, width: testCase.width, pool: pool, timings: &timings))
                }
                #expect(features.count == expectedFeatures.count)
                #expect(embeddings.count == m.queries * m.embedding)
                // F16 weights multiply fp16-rounded activations on the small-batch path, as ggml
                // does (relative rounding 2^-11 ≈ 5e-4 per element); numpy uses float32/64.
                // Measured: ≤ 5.2e-4 over these cases. A wrong layout gives errors of order 1.
                #expect(Self.relativeError(features, expectedFeatures) < 2e-3, "\(testCase.name) ViT, \(threads) threads")
                #expect(Self.relativeError(embeddings, expectedEmbeddings) < 2e-3, "\(testCase.name) resampler, \(threads) threads")
                #expect(timings.total > 0)
            }
        }
    }

    @Test func rejectsSlicesThatAreNotWholePatches() throws {
        let m = try Self.manifest()
        let pool = ThreadPool(threadCount: 1)
        let tower = try MiniCPMVVisionTower(path: Self.directory.appendingPathComponent(m.mmproj).path, pool: pool)
        let pixels = [Float](repeating: 0, count: 3 * 20 * 28)
        var timings = VisionTimings()
        #expect(throws: ModelsError.self) {
            try pixels.withUnsafeBufferPointer { p in
                _ = try tower.embed(pixels: try #require(p.baseAddress), height: 20, width: 28, pool: pool, timings: &timings)
            }
        }
    }

    @Test func rejectsTheLanguageModelFileAsProjector() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("not-mmproj-\(getpid()).gguf").path
        var writer = GGUFWriter()
        try writer.setValue(.string("qwen2"), forKey: "general.architecture")
        try writer.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ModelsError.self) { try MiniCPMVVisionTower(path: path, pool: ThreadPool(threadCount: 1)) }
    }

    @Test func positionIDsBucketLikeTheReference() {
        // 32×32 patches (a 448 slice) select rows/cols 0,2,4,6,8,10,13,15,… of the 70 grid.
        let ids = SigLIPVisionEncoder.positionIDs(rows: 32, columns: 32, gridSide: 70)
        #expect(Array(ids.prefix(8)) == [0, 2, 4, 6, 8, 10, 13, 15])
        #expect(ids[32] == 2 * 70)
        // More than 70 patches on a side (a 1218-pixel-wide overview) repeats buckets.
        let wide = SigLIPVisionEncoder.positionIDs(rows: 1, columns: 87, gridSide: 70)
        #expect(wide.count == 87 && wide.last == 69 && Set(wide).count == 70)
    }

    @Test func sinCosTableLayout() {
        let t = MiniCPMVResampler.positionEmbedding(rows: 2, columns: 3, width: 8)
        // token 5 = row 1, column 2; quarter = 2; ω = [1, 0.01].
        let row = Array(t[40..<48])
        let expected: [Float] = [sin(2), sin(0.02), cos(2), cos(0.02), sin(1), sin(0.01), cos(1), cos(0.01)]
        for (a, b) in zip(row, expected) { #expect(abs(a - b) < 1e-6) }
    }
}
