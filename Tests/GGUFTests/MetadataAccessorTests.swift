import Testing
@testable import GGUF

@Suite struct MetadataAccessorTests {
    let file: GGUFFile
    init() throws { file = try GGUFFile(path: TestData.path("types.gguf")) }

    @Test func typedAccessorsReturnStoredValues() throws {
        let m = file.metadata
        #expect(try m.uint32("clip.vision.block_count") == 27)
        #expect(try m.int32("test.int32") == -2_000_000_000)
        #expect(try m.uint64("test.uint64") == (1 << 63) + 12345)
        #expect(try m.float32("test.float32") == Float(0.1))
        #expect(try m.bool("test.bool_true") == true)
        #expect(try m.bool("test.bool_false") == false)
        #expect(try m.string("test.string") == "MiniCPM-V ✓ naïve 日本")
        #expect(try m.string("general.architecture") == "edgevlm-test")
        #expect(try m.stringArray("test.array.string") == ["a", "", "Ġhello", "日本"])
        #expect(try m.int32Array("test.array.int32") == [-1, 2, -2_147_483_648])
        #expect(try m.float32Array("test.array.float32") == [0.5, -1.25, Float(3e-20)])
        #expect(try m.stringArray("tokenizer.ggml.tokens").count == 300)
    }

    @Test func defaultsApplyOnlyWhenTheKeyIsAbsent() throws {
        let m = file.metadata
        #expect(try m.uint32("absent.key", default: 5) == 5)
        #expect(try m.uint32("clip.vision.block_count", default: 5) == 27)
        #expect(try m.float32("absent.key", default: 1.5) == 1.5)
        #expect(try m.optionalString("absent.key") == nil)
        #expect(throws: GGUFError.typeMismatch(file: file.path, key: "test.string", expected: "an integer",
                                               found: "string")) {
            try m.uint32("test.string", default: 5)
        }
    }

    @Test func integersWidenLosslesslyAndRejectWhatDoesNotFit() throws {
        let m = file.metadata
        #expect(try m.uint32("test.u32_as_i32") == 77)  // stored as int32
        #expect(try m.uint64("test.uint8") == 200)
        #expect(throws: GGUFError.valueOutOfRange(file: file.path, key: "test.int32", value: "-2000000000",
                                                  expected: "UInt32")) {
            try m.uint32("test.int32")
        }
        #expect(throws: GGUFError.self) { try m.int32("test.uint32") }
        #expect(try m.uint32Array("test.array.uint8") == [0, 1, 255])
        #expect(throws: GGUFError.self) { try m.uint32Array("test.array.int8") }
    }

    @Test func errorsNameTheKeyAndTheFile() throws {
        let m = file.metadata
        let missing = GGUFError.missingKey(file: file.path, key: "clip.vision.nope")
        #expect(throws: missing) { try m.uint32("clip.vision.nope") }
        #expect(missing.description.contains("clip.vision.nope") && missing.description.contains("types.gguf"))
        #expect(throws: GGUFError.typeMismatch(file: file.path, key: "test.uint32", expected: "string",
                                               found: "uint32")) {
            try m.string("test.uint32")
        }
        #expect(throws: GGUFError.typeMismatch(file: file.path, key: "test.array.int32", expected: "array[string]",
                                               found: "array[int32, 3]")) {
            try m.stringArray("test.array.int32")
        }
    }
}
