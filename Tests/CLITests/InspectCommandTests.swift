import Foundation
import Testing

/// Runs the built `edgevlm inspect` and checks it against gguf-py's view of the same files.
@Suite struct InspectCommandTests {
    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `edgevlm` binary next to the test bundle (same build configuration).
    static func binary() throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL,
            Bundle.main.bundleURL.deletingLastPathComponent(),
            repoRoot.appendingPathComponent(".build/debug"),
        ].map { $0.appendingPathComponent("edgevlm") }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            Issue.record("edgevlm binary not found next to the tests (\(candidates.map(\.path))); run `swift build --build-tests`")
            throw Missing()
        }
        return found
    }

    static func testFile(_ name: String) throws -> String {
        let path = repoRoot.appendingPathComponent(".testdata/gguf/\(name)").path
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("missing \(path): run scripts/gen-testdata.sh first")
            throw Missing()
        }
        return path
    }

    struct Missing: Error {}

    /// Runs the built `edgevlm` with `arguments` (and `environment`, else this process's).
    static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, stdout: Data, stderr: String) {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, stdout, String(decoding: stderr, as: UTF8.self))
    }

    @Test(arguments: ["types.gguf", "align64.gguf", "empty.gguf"])
    func jsonMatchesGGUFPy(name: String) throws {
        let result = try Self.run(["inspect", try Self.testFile(name), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONDecoder().decode(JSONValue.self, from: result.stdout)
        let manifest = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: Self.repoRoot
            .appendingPathComponent(".testdata/gguf/manifest.json")))
        let expected = try #require(manifest["files"]?[name])

        #expect(json["version"] == expected["version"])
        #expect(json["alignment"] == expected["alignment"])
        let metadata = try #require(json["metadata"]?.object)
        let types = try #require(json["metadata_types"]?.object)
        let expectedMetadata = expected["metadata"]?.array ?? []
        #expect(metadata.count == expectedMetadata.count)
        for want in expectedMetadata {
            guard let key = want["key"]?.string, let value = want["value"] else { continue }
            #expect(metadata[key]?.sameNumberOrValue(value) == true, "\(key): \(String(describing: metadata[key])) vs \(value)")
            let wantType = want["type"]?.string == "array"
                ? "array[\(want["element_type"]?.string ?? "?")]" : want["type"]?.string
            #expect(types[key]?.string == wantType, "\(key)")
        }
        let tensors = json["tensors"]?.array ?? []
        let expectedTensors = expected["tensors"]?.array ?? []
        #expect(tensors.count == expectedTensors.count)
        for (tensor, want) in zip(tensors, expectedTensors) {
            #expect(tensor["name"] == want["name"])
            #expect(tensor["type"]?.string?.lowercased() == want["type"]?.string)
            #expect(tensor["shape"] == want["shape"])
            #expect(tensor["offset"] == want["offset"])
            #expect(tensor["bytes"] == want["n_bytes"])
        }
    }

    @Test func tableAbbreviatesLongArrays() throws {
        let result = try Self.run(["inspect", try Self.testFile("types.gguf")])
        #expect(result.status == 0)
        let text = String(decoding: result.stdout, as: UTF8.self)
        #expect(text.contains("tokenizer.ggml.tokens"))
        #expect(text.contains("(300 items)"))
        #expect(!text.contains("tok299"))
        #expect(text.contains("q4_K"))
    }

    @Test func errorsGoToStderrWithStatus1() throws {
        let missing = "/nonexistent/model.gguf"
        let result = try Self.run(["inspect", missing])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains(missing))
        let directory = try Self.run(["inspect", "/tmp"])
        #expect(directory.status == 1 && directory.stderr.contains("not a regular file"))
    }
}

/// Minimal exact JSON value (64-bit integers kept exact).
enum JSONValue: Decodable, Equatable {
    case bool(Bool), int(Int64), uint(UInt64), double(Double), string(String), array([JSONValue])
    case object([String: JSONValue]), null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let v = try? c.decode(Bool.self) { self = .bool(v); return }
        if let v = try? c.decode(Int64.self) { self = .int(v); return }
        if let v = try? c.decode(UInt64.self) { self = .uint(v); return }
        if let v = try? c.decode(Double.self) { self = .double(v); return }
        if let v = try? c.decode(String.self) { self = .string(v); return }
        if let v = try? c.decode([JSONValue].self) { self = .array(v); return }
        self = .object(try c.decode([String: JSONValue].self))
    }

    subscript(key: String) -> JSONValue? { if case let .object(o) = self { o[key] } else { nil } }
    var string: String? { if case let .string(s) = self { s } else { nil } }
    var array: [JSONValue]? { if case let .array(a) = self { a } else { nil } }
    var object: [String: JSONValue]? { if case let .object(o) = self { o } else { nil } }
    /// Any JSON number as a Double.
    var number: Double? {
        switch self {
        case let .int(v): Double(v)
        case let .uint(v): Double(v)
        case let .double(v): v
        default: nil
        }
    }

    /// Equal, treating 5 and 5.0 alike (JSON does not distinguish them).
    func sameNumberOrValue(_ other: JSONValue) -> Bool {
        switch (self, other) {
        case let (.array(a), .array(b)): return a.count == b.count && zip(a, b).allSatisfy { $0.sameNumberOrValue($1) }
        case let (.double(a), .int(b)), let (.int(b), .double(a)): return a == Double(b)
        default: return self == other
        }
    }
}
