import Foundation
import Testing
@testable import GGUF

/// Every kind of malformed file yields a specific GGUFError, never a crash.
@Suite struct MalformedInputTests {
    /// A valid single-tensor file, to show the builder is right before breaking it.
    static func valid() -> RawGGUF {
        var raw = RawGGUF(tensors: 1, kvs: 1)
        raw.kvUInt32("a.b", 1)
        raw.tensor("t", ne: [4, 2])
        raw.data(32)
        return raw
    }

    @Test func theBuilderMakesAValidFile() {
        #expect(Self.valid().error() == nil)
    }

    @Test func truncationAtEveryByteOfARealHeaderIsReported() throws {
        for name in ["types.gguf", "align64.gguf"] {
            let bytes = try TestData.bytes(name)
            let file = try GGUFFile(path: TestData.path(name))
            // Every prefix of the small file's header, every 5th of the large one's (debug builds
            // parse slowly), then cuts just inside and at the end of every tensor's data.
            let step = name == "types.gguf" ? 5 : 1
            var lengths = Array(stride(from: 0, through: file.dataOffset, by: step))
            for tensor in file.tensors where tensor.byteCount > 0 {
                let end = file.dataOffset + tensor.offset + tensor.byteCount
                lengths += [end - tensor.byteCount / 2, end - 1, end]
            }
            let lastEnd = file.tensors.last.map { file.dataOffset + $0.offset + $0.byteCount } ?? file.dataOffset
            for length in lengths {
                let error = RawGGUF.error(Array(bytes[..<length]))
                switch error {
                case nil where length >= lastEnd: break  // only the final padding is missing: legal
                case .truncated?, .stringTooLong?, .implausibleCount?, .tensorDataOutOfBounds?: break
                default: Issue.record("\(name) cut at \(length): \(String(describing: error))")
                }
            }
        }
    }

    @Test func badMagicAndVersions() {
        var raw = Self.valid()
        raw.bytes[0] = UInt8(ascii: "X")
        #expect(raw.error() == .badMagic(file: "mem.gguf", found: Array("XGUF".utf8)))
        for (version, expectSwapped) in [(UInt32(0x0300_0000), true), (0x0002_0000, true)] {
            var raw = Self.valid()
            raw.bytes.replaceSubrange(4 ..< 8, with: withUnsafeBytes(of: version.littleEndian, Array.init))
            #expect(raw.error() == .byteSwapped(file: "mem.gguf", version: version) || !expectSwapped)
        }
        for version: UInt32 in [0, 1, 4, 77] {
            var raw = Self.valid()
            raw.bytes.replaceSubrange(4 ..< 8, with: withUnsafeBytes(of: version.littleEndian, Array.init))
            guard case .unsupportedVersion(_, version, _)? = raw.error() else {
                Issue.record("version \(version): \(String(describing: raw.error()))")
                continue
            }
        }
        var v2 = Self.valid()
        v2.bytes[4] = 2
        #expect(v2.error() == nil)
    }

    @Test func lyingCountsAndLengths() {
        for count: Int64 in [-1, 1 << 40, .max, 3] {
            var raw = RawGGUF(tensors: 0, kvs: count)
            raw.kvUInt32("a", 1)
            #expect(raw.error().map { if case .implausibleCount = $0 { true } else if case .truncated = $0 { true } else { false } } == true, "kv count \(count)")
            var t = RawGGUF(tensors: count, kvs: 0)
            t.tensor("t", ne: [1])
            #expect(t.error().map { if case .implausibleCount = $0 { true } else if case .truncated = $0 { true } else { false } } == true, "tensor count \(count)")
        }
        var longKey = RawGGUF(tensors: 0, kvs: 1)
        longKey.u64(1 << 62)
        longKey.bytes += [UInt8](repeating: 0x41, count: 32)
        #expect(longKey.error() == .stringTooLong(file: "mem.gguf", what: "key of metadata pair 0", length: 1 << 62, offset: 24))
        var longArray = RawGGUF(tensors: 0, kvs: 1)
        longArray.string("arr")
        longArray.u32(9)  // array
        longArray.u32(8)  // of strings
        longArray.u64(.max)
        #expect(longArray.error().map { if case .implausibleCount = $0 { true } else { false } } == true)
        var longString = RawGGUF(tensors: 0, kvs: 1)
        longString.string("s")
        longString.u32(8)
        longString.u64(1000)
        longString.bytes += Array("short".utf8)
        #expect(longString.error().map { if case .stringTooLong = $0 { true } else { false } } == true)
    }

    @Test func duplicateAndEmptyKeys() {
        var raw = RawGGUF(tensors: 0, kvs: 2)
        raw.kvUInt32("k", 1)
        raw.kvUInt32("k", 2)
        #expect(raw.error() == .duplicateKey(file: "mem.gguf", key: "k"))
        var empty = RawGGUF(tensors: 0, kvs: 1)
        empty.kvUInt32("", 1)
        #expect(empty.error() == .emptyKey(file: "mem.gguf", index: 0, offset: 24))
    }

    @Test func invalidValueTypesAndArraysOfArrays() {
        for code: Int32 in [13, -1, 1000] {
            var raw = RawGGUF(tensors: 0, kvs: 1)
            raw.string("k")
            raw.i32(code)
            raw.u32(0)
            #expect(raw.error() == .invalidValueType(file: "mem.gguf", key: "k", code: code))
        }
        var nested = RawGGUF(tensors: 0, kvs: 1)
        nested.string("k")
        nested.u32(9)
        nested.u32(9)
        nested.u64(1)
        nested.u32(4)
        nested.u64(1)
        nested.u32(7)
        #expect(nested.error() == .invalidValueType(file: "mem.gguf", key: "k", code: 9))
        var badElement = RawGGUF(tensors: 0, kvs: 1)
        badElement.string("k")
        badElement.u32(9)
        badElement.u32(42)
        badElement.u64(0)
        #expect(badElement.error() == .invalidValueType(file: "mem.gguf", key: "k", code: 42))
    }

    @Test func alignmentMustBeAUInt32PowerOfTwo() {
        for value: UInt32 in [0, 3, 48] {
            var raw = RawGGUF(tensors: 0, kvs: 1)
            raw.kvUInt32("general.alignment", value)
            #expect(raw.error().map { if case .invalidAlignment = $0 { true } else { false } } == true, "\(value)")
        }
        var wrongType = RawGGUF(tensors: 0, kvs: 1)
        wrongType.string("general.alignment")
        wrongType.u32(5)  // int32
        wrongType.i32(32)
        #expect(wrongType.error().map { if case .invalidAlignment = $0 { true } else { false } } == true)
    }

    static func oneTensor(_ name: String = "t", ne: [Int64], type: Int32 = 0, dataBytes: Int = 64) -> RawGGUF {
        var raw = RawGGUF(tensors: 1, kvs: 0)
        raw.tensor(name, ne: ne, type: type)
        raw.data(dataBytes)
        return raw
    }

    @Test func tensorNamesAndShapes() {
        let long = String(repeating: "n", count: 64)
        #expect(Self.oneTensor(long, ne: [1]).error() == .tensorNameTooLong(file: "mem.gguf", tensor: long, length: 64))
        #expect(Self.oneTensor(String(repeating: "n", count: 63), ne: [1]).error() == nil)
        var dup = RawGGUF(tensors: 2, kvs: 0)
        dup.tensor("t", ne: [1])
        dup.tensor("t", ne: [1], offset: 32)
        dup.data(64)
        #expect(dup.error() == .duplicateTensor(file: "mem.gguf", tensor: "t"))
        #expect(Self.oneTensor(ne: [1, 1, 1, 1, 1]).error() == .tooManyDimensions(file: "mem.gguf", tensor: "t", nDims: 5))
        var manyDims = RawGGUF(tensors: 1, kvs: 0)
        manyDims.string("t")
        manyDims.u32(.max)
        manyDims.bytes += [UInt8](repeating: 0, count: 32)
        #expect(manyDims.error() == .tooManyDimensions(file: "mem.gguf", tensor: "t", nDims: .max))
        #expect(Self.oneTensor(ne: [4, -2]).error() == .negativeDimension(file: "mem.gguf", tensor: "t", dimension: 1, extent: -2))
        #expect(Self.oneTensor(ne: [1 << 40, 1 << 40]).error() == .shapeOverflow(file: "mem.gguf", tensor: "t", shape: [1 << 40, 1 << 40]))
        #expect(Self.oneTensor(ne: [1 << 62]).error() == .shapeOverflow(file: "mem.gguf", tensor: "t", shape: [1 << 62]))
        #expect(Self.oneTensor(ne: [.max, 1, 1, 1]).error() == .shapeOverflow(file: "mem.gguf", tensor: "t", shape: [.max, 1, 1, 1]))
        #expect(Self.oneTensor(ne: [0, 5]).error() == nil)  // empty tensors are legal
        #expect(Self.oneTensor(ne: [16], type: 2).error() == .rowNotBlockAligned(file: "mem.gguf", tensor: "t", type: .q4_0, rowLength: 16))
        for code: Int32 in [4, 5, 31, 36, 43, 99, -1] {
            #expect(Self.oneTensor(ne: [32], type: code).error() == .unknownTensorType(file: "mem.gguf", tensor: "t", code: code))
        }
    }

    @Test func offsetsFollowTheRunningPaddedSum() {
        var misplaced = RawGGUF(tensors: 2, kvs: 0)
        misplaced.tensor("a", ne: [1])
        misplaced.tensor("b", ne: [1], offset: 4)  // must be 32: each tensor starts aligned
        misplaced.data(64)
        #expect(misplaced.error() == .misplacedTensor(file: "mem.gguf", tensor: "b", offset: 4, expected: 32))
        var first = RawGGUF(tensors: 1, kvs: 0)
        first.tensor("a", ne: [1], offset: 32)
        first.data(64)
        #expect(first.error() == .misplacedTensor(file: "mem.gguf", tensor: "a", offset: 32, expected: 0))
        var huge = RawGGUF(tensors: 1, kvs: 0)
        huge.tensor("a", ne: [1], offset: .max)
        huge.data(64)
        #expect(huge.error() == .misplacedTensor(file: "mem.gguf", tensor: "a", offset: .max, expected: 0))
        let pastEnd = Self.oneTensor(ne: [100], dataBytes: 399)
        guard case .tensorDataOutOfBounds(_, "t", _, 400, _)? = pastEnd.error() else {
            Issue.record("\(String(describing: pastEnd.error()))")
            return
        }
        #expect(Self.oneTensor(ne: [100], dataBytes: 400).error() == nil)  // last tensor needs no padding
    }

    @Test func filesystemProblems() throws {
        let empty = TestData.temporaryPath("empty.gguf")
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(throws: GGUFError.truncated(file: empty, what: "magic", offset: 0, needed: 4, available: 0)) {
            try GGUFFile(path: empty)
        }
        #expect(throws: GGUFError.notARegularFile(file: "/tmp")) { try GGUFFile(path: "/tmp") }
        let missing = "/nonexistent/model.gguf"
        #expect(throws: GGUFError.cannotOpen(file: missing, reason: "No such file or directory")) {
            try GGUFFile(path: missing)
        }
    }

    @Test func messagesNameTheFileAndTheCulprit() {
        let error = Self.oneTensor("blk.0.attn_q.weight", ne: [32], type: 99).error()
        let message = error?.description ?? ""
        #expect(message.contains("mem.gguf") && message.contains("blk.0.attn_q.weight") && message.contains("99"))
    }
}
