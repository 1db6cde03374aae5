@testable import GGUF

/// Hand-assembles GGUF bytes, including malformed ones the writer refuses to produce.
struct RawGGUF {
    var bytes: [UInt8] = []

    /// Magic, version and counts.
    init(version: UInt32 = 3, tensors: Int64, kvs: Int64) {
        bytes = Array("GGUF".utf8)
        u32(version)
        i64(tensors)
        i64(kvs)
    }

    mutating func int<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u8(_ v: UInt8) { int(v) }
    mutating func u32(_ v: UInt32) { int(v) }
    mutating func i32(_ v: Int32) { int(v) }
    mutating func u64(_ v: UInt64) { int(v) }
    mutating func i64(_ v: Int64) { int(v) }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += s.utf8 }

    /// A scalar uint32 KV.
    mutating func kvUInt32(_ key: String, _ value: UInt32) { string(key); u32(4); u32(value) }
    /// A tensor info entry.
    mutating func tensor(_ name: String, ne: [Int64], type: Int32 = 0, offset: UInt64 = 0) {
        string(name)
        u32(UInt32(ne.count))
        for e in ne { i64(e) }
        i32(type)
        u64(offset)
    }
    /// Zero padding up to `alignment`, then `count` data bytes.
    mutating func data(_ count: Int, alignment: Int = 32) {
        bytes += [UInt8](repeating: 0, count: (alignment - bytes.count % alignment) % alignment)
        bytes += [UInt8](repeating: 0x3C, count: count)
    }

    /// Parses the bytes; returns the error, or nil when they are accepted.
    func error() -> GGUFError? { Self.error(bytes) }

    static func error(_ bytes: [UInt8]) -> GGUFError? {
        do {
            _ = try bytes.withUnsafeBytes { try GGUFParser.parse($0, file: "mem.gguf") }
            return nil
        } catch let error as GGUFError {
            return error
        } catch {
            Issue.record("non-GGUFError thrown: \(error)")
            return nil
        }
    }
}

import Testing
