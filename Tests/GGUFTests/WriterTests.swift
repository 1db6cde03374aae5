import Foundation
import Testing
@testable import GGUF

@Suite struct WriterTests {
    /// Copies a file's metadata and tensors into a writer.
    static func writer(copying file: GGUFFile) throws -> GGUFWriter {
        var writer = GGUFWriter()
        for entry in file.metadata.entries { try writer.setValue(entry.value, forKey: entry.key) }
        for tensor in file.tensors {
            try writer.addTensor(name: tensor.name, type: tensor.type, shape: tensor.shape,
                                 bytes: Array(file.bytes(of: tensor)))
        }
        return writer
    }

    /// Re-writing what gguf-py wrote reproduces gguf-py's bytes exactly (same layout rules).
    @Test(arguments: ["types.gguf", "align64.gguf", "empty.gguf"])
    func rewritingGGUFPyOutputIsByteIdentical(name: String) throws {
        let original = try TestData.bytes(name)
        let file = try GGUFFile(path: TestData.path(name))
        let bytes = try Self.writer(copying: file).serialized()
        #expect(bytes.count == original.count)
        #expect(bytes == original)
    }

    /// write → read → write gives identical bytes, for every value type including empty arrays.
    @Test func roundTripIsExact() throws {
        var writer = GGUFWriter()
        let values: [(String, GGUFValue)] = [
            ("a.u8", .uint8(255)), ("a.i8", .int8(-1)), ("a.u16", .uint16(65535)), ("a.i16", .int16(-2)),
            ("a.u32", .uint32(7)), ("a.i32", .int32(-7)), ("a.f32", .float32(-.infinity)),
            ("a.f32nan", .float32(Float(bitPattern: 0x7FC0_1234))), ("a.bool", .bool(true)),
            ("a.str", .string("héllo")), ("a.u64", .uint64(.max)), ("a.i64", .int64(.min)),
            ("a.f64", .float64(.pi)), ("general.alignment", .uint32(16)),
            ("arr.empty", .array(.int32([]))), ("arr.u8", .array(.uint8([1, 2]))),
            ("arr.i8", .array(.int8([-1]))), ("arr.u16", .array(.uint16([3]))), ("arr.i16", .array(.int16([-3]))),
            ("arr.u32", .array(.uint32([4]))), ("arr.i32", .array(.int32([-4]))),
            ("arr.f32", .array(.float32([1.5]))), ("arr.bool", .array(.bool([false, true]))),
            ("arr.str", .array(.string(["x", ""]))), ("arr.u64", .array(.uint64([5]))),
            ("arr.i64", .array(.int64([-5]))), ("arr.f64", .array(.float64([2.5]))),
        ]
        for (key, value) in values { try writer.setValue(value, forKey: key) }
        try writer.addTensor(name: "t.q8", type: .q8_0, shape: [64, 3], bytes: (0 ..< 6 * 34).map { UInt8($0 & 0xFF) })
        try writer.addTensor(name: "t.scalar", type: .f32, shape: [], bytes: [0, 0, 128, 63])
        try writer.addTensor(name: "t.gen", type: .f16, shape: [5], data: .generated { buffer in
            for i in buffer.indices { buffer[i] = UInt8(i) }
        })
        let path = TestData.temporaryPath("roundtrip.gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try writer.write(to: path)
        let first = try #require(FileManager.default.contents(atPath: path))

        let file = try GGUFFile(path: path)
        #expect(file.version == 3)
        #expect(file.alignment == 16)
        #expect(file.metadata.count == values.count)
        for (key, value) in values {
            // Compare bit patterns so NaN payloads count too.
            #expect(file.metadata[key].map { "\($0.type)\($0)" } == "\(value.type)\(value)", "\(key)")
        }
        if case let .float32(nan)? = file.metadata["a.f32nan"] { #expect(nan.bitPattern == 0x7FC0_1234) }
        #expect(file.tensors.map(\.name) == ["t.q8", "t.scalar", "t.gen"])
        #expect(try file.tensor(named: "t.scalar").shape == [])
        #expect(try file.tensor(named: "t.scalar").elementCount == 1)
        #expect(Array(file.bytes(of: try file.tensor(named: "t.gen"))) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        #expect(try Self.writer(copying: file).serialized() == [UInt8](first))
    }

    @Test func rejectsWhatTheFormatCannotHold() throws {
        var writer = GGUFWriter()
        #expect(throws: GGUFError.self) { try writer.setValue(.uint8(1), forKey: "") }
        #expect(throws: GGUFError.self) { try writer.setValue(.uint32(3), forKey: "general.alignment") }
        #expect(throws: GGUFError.self) { try writer.setValue(.int32(32), forKey: "general.alignment") }
        let long = String(repeating: "x", count: 64)
        #expect(throws: GGUFError.self) { try writer.addTensor(name: long, type: .f32, shape: [1], bytes: [0, 0, 0, 0]) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "a", type: .q4_0, shape: [16], bytes: []) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "a", type: .f32, shape: [1, 1, 1, 1, 1], bytes: [0, 0, 0, 0]) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "a", type: .f32, shape: [2], bytes: [0, 0, 0, 0]) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "a", type: .f32, shape: [-1], bytes: []) }
        try writer.addTensor(name: "a", type: .f32, shape: [1], bytes: [0, 0, 0, 0])
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "a", type: .f32, shape: [1], bytes: [0, 0, 0, 0]) }
    }

    @Test func writeToAMissingDirectoryFailsWithATypedError() throws {
        let writer = GGUFWriter()
        #expect(throws: GGUFError.self) { try writer.write(to: "/nonexistent-dir/x.gguf") }
    }
}
