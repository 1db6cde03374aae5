import Foundation
import Testing
@testable import Coordinator

/// The publisher's per-tensor digests against gguf-py + hashlib (`tools/testdata/models.py`).
@Suite("Model manifest builder")
struct ModelManifestBuilderTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Described: Decodable {
        struct Tensor: Decodable { var name: String; var sha256: String }
        var sha256: String
        var tensors: [Tensor]
    }

    @Test func tensorDigestsMatchGGUFPy() throws {
        let path = Self.root.appendingPathComponent(".testdata/models/digests.json").path
        let data = try #require(FileManager.default.contents(atPath: path), "missing \(path): run scripts/gen-testdata.sh")
        let reference = try JSONDecoder().decode([String: Described].self, from: data)
        let files = ["demo-llm": "models/demo/edgevlm-demo-F16.gguf", "demo-mmproj": "models/demo/mmproj-edgevlm-demo-F16.gguf",
                     "llm-v2": ".testdata/models/llm-v2.gguf"]
        for (key, relative) in files {
            let expected = try #require(reference[key])
            let digests = try ModelManifestBuilder.tensorDigests(ofGGUF: Self.root.appendingPathComponent(relative).path)
            #expect(digests.map(\.name) == expected.tensors.map(\.name), "\(key)")
            #expect(digests.map(\.sha256) == expected.tensors.map(\.sha256), "\(key)")
        }
        let manifest = try ModelSigning.manifest(name: "demo", version: "2",
                                                 llm: Self.root.appendingPathComponent(files["llm-v2"]!),
                                                 mmproj: Self.root.appendingPathComponent(files["demo-mmproj"]!), now: 0)
        #expect(manifest.files[0].sha256 == reference["llm-v2"]?.sha256)
        let llmTensors = try #require(reference["llm-v2"]?.tensors.count)
        let mmprojTensors = try #require(reference["demo-mmproj"]?.tensors.count)
        #expect(llmTensors > 0 && mmprojTensors > 0)
        #expect(manifest.files[0].tensors.count == llmTensors && manifest.files[1].tensors.count == mmprojTensors)
        #expect(throws: CoordinatorError.self) { try ModelManifestBuilder.tensorDigests(ofGGUF: path) }
    }
}
