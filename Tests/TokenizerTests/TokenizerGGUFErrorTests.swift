import Foundation
import GGUF
import Testing
@testable import Tokenizer

/// Bad vocabularies (written by tools/testdata/tokenizer.py with gguf-py) fail with an error
/// that names the offending key.
@Suite struct TokenizerGGUFErrorTests {
    static func load(_ name: String) throws -> BPETokenizer {
        let url = GoldenFixtures.testdata.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw FixtureMissing(path: url.path, hint: "run scripts/gen-testdata.sh (tools/testdata/tokenizer.py) first")
        }
        return try BPETokenizer(gguf: GGUFFile(path: url.path))
    }

    @Test func tinyVocabularyLoads() throws {
        let tokenizer = try Self.load("good-tiny.gguf")
        #expect(tokenizer.tokenize("abab", addSpecial: false) == [2, 2])
        #expect(tokenizer.specialTokens.eos == 3)
        #expect(tokenizer.isEndOfGeneration(3))
    }

    @Test(arguments: [
        ("bad-no-merges.gguf", TokenizerError.vocabularyWithoutMerges(key: "tokenizer.ggml.merges"), "vocabulary without merges"),
        ("bad-pre.gguf", .unsupportedPreTokenizer(key: "tokenizer.ggml.pre", value: "not-a-pre-tokenizer"), "tokenizer.ggml.pre"),
        ("bad-no-pre.gguf", .unsupportedPreTokenizer(key: "tokenizer.ggml.pre", value: "(missing)"), "tokenizer.ggml.pre"),
        ("bad-model.gguf", .unsupportedModel(key: "tokenizer.ggml.model", value: "bert"), "tokenizer.ggml.model"),
        ("bad-eos.gguf", .specialTokenOutOfRange(key: "tokenizer.ggml.eos_token_id", id: 4, vocabularySize: 4),
         "tokenizer.ggml.eos_token_id"),
    ])
    func badVocabularyFailsNamingTheKey(file: String, expected: TokenizerError, messagePart: String) throws {
        let error = #expect(throws: TokenizerError.self) { try Self.load(file) }
        #expect(error == expected)
        #expect(error?.description.contains(messagePart) == true)
    }

    @Test func otherArchitectureWithoutTokenizerIsAMissingKey() throws {
        // A GGUF without any tokenizer keys, e.g. an mmproj file.
        let url = GoldenFixtures.testdata.appendingPathComponent("no-tokenizer.gguf")
        var writer = GGUFWriter()
        try writer.setValue(.string("clip"), forKey: "general.architecture")
        try writer.write(to: url.path)
        let error = #expect(throws: TokenizerError.self) { try BPETokenizer(gguf: GGUFFile(path: url.path)) }
        #expect(error == .missingKey("tokenizer.ggml.model"))
    }
}
