import Foundation
import Testing
@testable import GGUF

/// The reader must report exactly what gguf-py's GGUFReader reports for files gguf-py wrote.
@Suite struct ReaderParityTests {
    static let files = ["types.gguf", "align64.gguf", "v2.gguf", "empty.gguf"]

    @Test(arguments: files)
    func headerMatchesGGUFPy(name: String) throws {
        let expected = try TestData.fileDescription(name)
        let file = try GGUFFile(path: TestData.path(name))
        #expect(Int(file.version) == expected["version"]?.int)
        #expect(file.alignment == expected["alignment"]?.int)
        if file.tensors.isEmpty {
            // Without tensors llama.cpp (and we) put the data section right after the header,
            // unpadded (gguf.cpp pads only when n_tensors > 0); gguf-py reports the padded offset.
            let padded = (file.dataOffset + file.alignment - 1) / file.alignment * file.alignment
            #expect(padded == expected["data_offset"]?.int)
        } else {
            #expect(file.dataOffset == expected["data_offset"]?.int)
        }
        #expect(file.fileSize == expected["file_size"]?.int)
    }

    @Test(arguments: files)
    func metadataMatchesGGUFPy(name: String) throws {
        let expected = try #require(try TestData.fileDescription(name)["metadata"]?.array)
        let file = try GGUFFile(path: TestData.path(name))
        #expect(file.metadata.keys == expected.compactMap { $0["key"]?.string })
        for (entry, want) in zip(file.metadata.entries, expected) {
            if case let .array(array) = entry.value {
                #expect(want["type"]?.string == "array", "\(entry.key)")
                #expect(want["element_type"]?.string == array.elementType.description, "\(entry.key)")
            } else {
                #expect(want["type"]?.string == entry.value.type.description, "\(entry.key)")
            }
            #expect(entry.value.matches(want["value"] ?? .null), "\(entry.key): \(entry.value) vs \(want)")
        }
    }

    @Test(arguments: files)
    func tensorTableMatchesGGUFPy(name: String) throws {
        let expected = try #require(try TestData.fileDescription(name)["tensors"]?.array)
        let file = try GGUFFile(path: TestData.path(name))
        #expect(file.tensors.count == expected.count)
        for (tensor, want) in zip(file.tensors, expected) {
            #expect(tensor.name == want["name"]?.string)
            #expect(tensor.type.name.lowercased() == want["type"]?.string)
            #expect(Int(tensor.type.rawValue) == want["type_code"]?.int)
            #expect(tensor.shape == want["shape"]?.array?.compactMap(\.int), "\(tensor.name)")
            #expect(tensor.offset == want["offset"]?.int, "\(tensor.name)")
            #expect(tensor.byteCount == want["n_bytes"]?.int, "\(tensor.name)")
            #expect(tensor.elementCount == want["n_elements"]?.int, "\(tensor.name)")
            #expect(try file.tensor(named: tensor.name) == tensor)
            #expect(file.bytes(of: tensor).count == tensor.byteCount)
        }
    }

    @Test func tensorBytesPointIntoTheFileAtTheRightPlace() throws {
        let name = "types.gguf"
        let raw = try TestData.bytes(name)
        let file = try GGUFFile(path: TestData.path(name))
        for tensor in file.tensors {
            let start = file.dataOffset + tensor.offset
            #expect(Array(file.bytes(of: tensor)) == Array(raw[start ..< start + tensor.byteCount]), "\(tensor.name)")
        }
    }

    @Test func unknownTensorNameIsATypedError() throws {
        let file = try GGUFFile(path: TestData.path("types.gguf"))
        #expect(throws: GGUFError.tensorNotFound(file: file.path, tensor: "nope")) { try file.tensor(named: "nope") }
    }
}
