import Crypto
import FleetProtocol
import Foundation
import Synchronization
import Testing
@testable import Agent

/// Shared pieces of the model-update tests: the gguf-py digests of `tools/testdata/models.py`,
/// manifests built from them (independently of the Swift publisher), temp folders, a blob
/// folder, and a source wrapper that records what was fetched and can cut the link.
enum ModelUpdateFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let demoLLM = root.appendingPathComponent("models/demo/edgevlm-demo-F16.gguf").path
    static let demoMMProj = root.appendingPathComponent("models/demo/mmproj-edgevlm-demo-F16.gguf").path
    static let dataDirectory = root.appendingPathComponent(".testdata/models").path

    struct Described: Decodable {
        struct Tensor: Decodable { var name: String; var sha256: String; var offset: Int; var size: Int }
        var size: Int
        var sha256: String
        var tensors: [Tensor]
    }

    /// gguf-py's view of the test files, keyed "demo-llm", "demo-mmproj", "llm-v2", "llm-nan", "llm-unloadable".
    static func digests() throws -> [String: Described] {
        let path = dataDirectory + "/digests.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentError(.io, "missing \(path): run scripts/gen-testdata.sh")
        }
        return try JSONDecoder().decode([String: Described].self, from: data)
    }

    static func path(of key: String) -> String {
        switch key {
        case "demo-llm": return demoLLM
        case "demo-mmproj": return demoMMProj
        default: return dataDirectory + "/" + key + ".gguf"
        }
    }

    static func manifestFile(role: String, key: String, withTensors: Bool = true) throws -> FleetManifestFile {
        let described = try #require(digests()[key])
        var file = FleetManifestFile()
        file.role = role
        file.fileName = (path(of: key) as NSString).lastPathComponent
        file.sizeBytes = UInt64(described.size)
        file.sha256 = described.sha256
        if withTensors {
            file.tensors = described.tensors.map { tensor in
                var digest = Edgevlm_Fleet_V1_TensorDigest()
                digest.name = tensor.name
                digest.sha256 = tensor.sha256
                return digest
            }
        }
        return file
    }

    static func manifest(llm: String, mmproj: String = "demo-mmproj", version: String = "1") throws -> FleetModelManifest {
        var manifest = FleetModelManifest()
        manifest.name = "demo"
        manifest.version = version
        manifest.files = [try manifestFile(role: "llm", key: llm), try manifestFile(role: "mmproj", key: mmproj)]
        return manifest
    }

    static func sign(_ manifest: FleetModelManifest, with key: Curve25519.Signing.PrivateKey) throws -> FleetSignedManifest {
        var signed = FleetSignedManifest()
        signed.manifest = try manifest.serializedBytes()
        signed.signature = try key.signature(for: signed.manifest)
        signed.keyID = ContentDigest.sha256Hex(key.publicKey.rawRepresentation)
        return signed
    }

    static func temporaryDirectory(_ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A folder holding the given test files named by their SHA-256 (what the coordinator's
    /// blob store serves).
    static func blobDirectory(_ keys: [String]) throws -> String {
        let directory = try temporaryDirectory("blobs")
        let all = try digests()
        for key in keys {
            let described = try #require(all[key])
            try FileManager.default.copyItem(atPath: path(of: key), toPath: directory + "/" + described.sha256)
        }
        return directory
    }
}

/// A real blob source wrapped to record requested ranges and bytes delivered, and to cut the
/// link (transient failure) once `cutAfterBytes` bytes have been delivered in total.
final class RecordingBlobSource: ModelBlobSource {
    struct Record { var ranges: [Range<Int64>] = []; var delivered: Int64 = 0; var cutAfter: Int64? }
    let inner: any ModelBlobSource
    let record: Mutex<Record>

    init(_ inner: any ModelBlobSource, cutAfterBytes: Int64? = nil) {
        self.inner = inner
        record = Mutex(Record(cutAfter: cutAfterBytes))
    }

    var delivered: Int64 { record.withLock { $0.delivered } }
    var ranges: [Range<Int64>] { record.withLock { $0.ranges } }
    func heal() { record.withLock { $0.cutAfter = nil } }

    func fetch(blob sha256: String, range: Range<Int64>, sink: (Data) async throws -> Void) async throws {
        record.withLock { $0.ranges.append(range) }
        try await inner.fetch(blob: sha256, range: range) { data in
            let (allowed, cut) = record.withLock { state -> (Int, Bool) in
                guard let limit = state.cutAfter else { return (data.count, false) }
                let left = Int(max(0, limit - state.delivered))
                return (min(left, data.count), left < data.count)
            }
            if allowed > 0 {
                try await sink(data.prefix(allowed))
                record.withLock { $0.delivered += Int64(allowed) }
            }
            if cut { throw AgentError(.transfer, "link cut by the test") }
        }
    }
}
