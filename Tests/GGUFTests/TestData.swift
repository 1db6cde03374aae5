import Foundation
import Testing
@testable import GGUF

/// Locates the reference data written by `tools/testdata/ggufpy_reference.py` (via `scripts/gen-testdata.sh`).
enum TestData {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let ggufDirectory = repoRoot.appendingPathComponent(".testdata/gguf")

    static func path(_ name: String) -> String { ggufDirectory.appendingPathComponent(name).path }

    /// The manifest gguf-py's GGUFReader produced; a clear failure when data is missing.
    static func manifest() throws -> [String: JSON] {
        if let cached = cachedManifest { return cached }
        throw MissingTestDataRecorded()
    }

    private static let cachedManifest: [String: JSON]? = {
        do { return try loadManifest() } catch { return nil }
    }()

    private static func loadManifest() throws -> [String: JSON] {
        let url = ggufDirectory.appendingPathComponent("manifest.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            Issue.record("missing \(url.path): run scripts/gen-testdata.sh first")
            throw MissingTestData()
        }
        guard case let .object(root) = try JSONDecoder().decode(JSON.self, from: data) else {
            throw MissingTestData()
        }
        return root
    }

    static func fileDescription(_ name: String) throws -> [String: JSON] {
        guard case let .object(files)? = try manifest()["files"], case let .object(file)? = files[name] else {
            Issue.record("manifest has no entry for \(name): re-run scripts/gen-testdata.sh")
            throw MissingTestData()
        }
        return file
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path(name)) else {
            Issue.record("missing \(path(name)): run scripts/gen-testdata.sh first")
            throw MissingTestData()
        }
        return [UInt8](data)
    }

    /// A fresh path under the system temporary directory.
    static func temporaryPath(_ suffix: String) -> String {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("gguf-test-\(UUID().uuidString)-\(suffix)").path
    }

    struct MissingTestData: Error {}
    struct MissingTestDataRecorded: Error, CustomStringConvertible {
        var description: String { "missing or unreadable .testdata/gguf/manifest.json: run scripts/gen-testdata.sh" }
    }
}

/// A JSON value that keeps 64-bit integers exact (JSONSerialization would round them).
enum JSON: Decodable, Equatable, Sendable, CustomStringConvertible {
    case bool(Bool), int(Int64), uint(UInt64), double(Double), string(String), array([JSON])
    case object([String: JSON]), null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let v = try? c.decode(Bool.self) { self = .bool(v); return }
        if let v = try? c.decode(Int64.self) { self = .int(v); return }
        if let v = try? c.decode(UInt64.self) { self = .uint(v); return }
        if let v = try? c.decode(Double.self) { self = .double(v); return }
        if let v = try? c.decode(String.self) { self = .string(v); return }
        if let v = try? c.decode([JSON].self) { self = .array(v); return }
        self = .object(try c.decode([String: JSON].self))
    }

    var string: String? { if case let .string(s) = self { s } else { nil } }
    var array: [JSON]? { if case let .array(a) = self { a } else { nil } }
    var object: [String: JSON]? { if case let .object(o) = self { o } else { nil } }
    var int: Int? {
        switch self {
        case let .int(v): Int(exactly: v)
        case let .uint(v): Int(exactly: v)
        default: nil
        }
    }
    var double: Double? {
        switch self {
        case let .int(v): Double(v)
        case let .uint(v): Double(v)
        case let .double(v): v
        default: nil
        }
    }
    subscript(key: String) -> JSON? { object?[key] }

    var description: String {
        switch self {
        case let .bool(v): "\(v)"
        case let .int(v): "\(v)"
        case let .uint(v): "\(v)"
        case let .double(v): "\(v)"
        case let .string(v): "\"\(v)\""
        case let .array(v): "\(v)"
        case let .object(v): "\(v)"
        case .null: "null"
        }
    }
}

extension GGUFValue {
    /// Whether this value equals gguf-py's JSON rendering of it (exact for integers and floats).
    func matches(_ json: JSON) -> Bool {
        switch self {
        case let .uint8(v): return json.int == Int(v)
        case let .int8(v): return json.int == Int(v)
        case let .uint16(v): return json.int == Int(v)
        case let .int16(v): return json.int == Int(v)
        case let .uint32(v): return json.int == Int(v)
        case let .int32(v): return json.int == Int(v)
        case let .uint64(v): return json == .uint(v) || json.int.map { UInt64(exactly: $0) == v } == true
        case let .int64(v): return json == .int(v)
        case let .float32(v): return json.double.map { Float($0).bitPattern == v.bitPattern } == true
        case let .float64(v): return json.double.map { $0.bitPattern == v.bitPattern } == true
        case let .bool(v): return json == .bool(v)
        case let .string(v): return json == .string(v)
        case let .array(a):
            guard let items = json.array, items.count == a.count else { return false }
            return zip(a.elements, items).allSatisfy { $0.matches($1) }
        }
    }
}
