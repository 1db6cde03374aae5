import Foundation
import GGUF
import Testing
@testable import Tokenizer

/// Paths and loaders for the committed llama.cpp goldens and the generated vocabulary JSON.
enum GoldenFixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = repositoryRoot.appendingPathComponent("Tests/TokenizerTests/Fixtures")
    static let testdata = repositoryRoot.appendingPathComponent(".testdata/tokenizer")
    static let preTokenizers = ["qwen2", "llama-bpe"]

    /// Vocabulary metadata as gguf-py read it (written by tools/testdata/tokenizer.py).
    struct Vocabulary: Decodable {
        let model: String
        let pre: String
        let tokens: [String]
        let tokenTypes: [Int32]
        let merges: [String]
        let bos: Int32?
        let eos: Int32?
        let eot: Int32?
        let padding: Int32?
        let addBOS: Bool?
        let addEOS: Bool?
        let chatTemplate: String?

        enum CodingKeys: String, CodingKey {
            case model = "tokenizer.ggml.model", pre = "tokenizer.ggml.pre", tokens = "tokenizer.ggml.tokens"
            case tokenTypes = "tokenizer.ggml.token_type", merges = "tokenizer.ggml.merges"
            case bos = "tokenizer.ggml.bos_token_id", eos = "tokenizer.ggml.eos_token_id"
            case eot = "tokenizer.ggml.eot_token_id", padding = "tokenizer.ggml.padding_token_id"
            case addBOS = "tokenizer.ggml.add_bos_token", addEOS = "tokenizer.ggml.add_eos_token"
            case chatTemplate = "tokenizer.chat_template"
        }
    }

    struct Case: Decodable {
        let input: String
        let tokens_add0_parse0: [Int32]
        let tokens_add0_parse1: [Int32]
        let tokens_add1_parse0: [Int32]
        let tokens_add1_parse1: [Int32]
        let detok_keep: String
        let detok_unparse: String
        let detok_remove_unparse: String
    }

    struct Chat: Decodable {
        struct Message: Decodable { let role: String; let content: String }
        let template: String
        let messages: [Message]
        let add_assistant: Bool
        let output: String?
    }

    /// llama.cpp's outputs for one vocabulary (written by tools/goldens/tokenizer_goldens.py).
    struct Goldens: Decodable {
        let n_vocab: Int
        let bos: Int32?
        let eos: Int32?
        let eot: Int32?
        let add_bos: Bool
        let add_eos: Bool
        let eog: [Int32]
        let control: [Int32]
        let chat_template_in_file: String?
        let pieces_special: [String]
        let pieces_plain_differing: [String: String]
        let cases: [Case]
        let chats: [Chat]
    }

    static func load<T: Decodable>(_ type: T.Type, _ url: URL, hint: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FixtureMissing(path: url.path, hint: hint)
        }
        return try JSONDecoder().decode(type, from: data)
    }

    static func vocabulary(_ pre: String) throws -> Vocabulary {
        try load(Vocabulary.self, testdata.appendingPathComponent("vocab-\(pre).json"),
                 hint: "run scripts/gen-testdata.sh (tools/testdata/tokenizer.py) first")
    }

    static func goldens(_ pre: String) throws -> Goldens {
        guard let result = goldenCache[pre] else { throw FixtureMissing(path: pre, hint: "unknown vocabulary") }
        return try result.get()
    }

    /// How a test builds the tokenizer: from the GGUF file (our reader) or from plain values
    /// (gguf-py's reading of the same file).
    enum Source: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case ggufFile, plainValues
        var testDescription: String { rawValue }
    }

    /// Built once per process: tests share them (loading dominates an unoptimized test run).
    private static let tokenizers: [String: Result<BPETokenizer, any Error>] = {
        var result: [String: Result<BPETokenizer, any Error>] = [:]
        for pre in preTokenizers {
            for source in Source.allCases {
                result["\(pre)/\(source)"] = Result { try buildTokenizer(pre, from: source) }
            }
        }
        return result
    }()

    private static let goldenCache: [String: Result<Goldens, any Error>] = Dictionary(
        uniqueKeysWithValues: preTokenizers.map { pre in
            (pre, Result { try load(Goldens.self, fixtures.appendingPathComponent("tokenizer-goldens-\(pre).json"),
                                    hint: "committed goldens; regenerate with tools/goldens/tokenizer_goldens.py") })
        })

    static func tokenizer(_ pre: String, from source: Source) throws -> BPETokenizer {
        guard let result = tokenizers["\(pre)/\(source)"] else { throw FixtureMissing(path: pre, hint: "unknown vocabulary") }
        return try result.get()
    }

    private static func buildTokenizer(_ pre: String, from source: Source) throws -> BPETokenizer {
        switch source {
        case .ggufFile:
            return try BPETokenizer(gguf: GGUFFile(path: fixtures.appendingPathComponent("vocab-\(pre).gguf").path))
        case .plainValues:
            return try plainValuesTokenizer(pre)
        }
    }

    /// The tokenizer built from plain values, as the GGUF metadata holds them.
    static func plainValuesTokenizer(_ pre: String) throws -> BPETokenizer {
        let vocabulary = try vocabulary(pre)
        return try BPETokenizer(
            tokens: vocabulary.tokens, tokenTypes: vocabulary.tokenTypes, merges: vocabulary.merges,
            preTokenizer: vocabulary.pre,
            specialTokens: SpecialTokenIDs(bos: vocabulary.bos, eos: vocabulary.eos, eot: vocabulary.eot,
                                           padding: vocabulary.padding),
            addBOS: vocabulary.addBOS, addEOS: vocabulary.addEOS, chatTemplate: vocabulary.chatTemplate)
    }

    static func bytes(_ base64: String) -> [UInt8] {
        Array(Data(base64Encoded: base64) ?? Data())
    }
}

struct FixtureMissing: Error, CustomStringConvertible {
    let path: String
    let hint: String
    var description: String { "missing test data \(path): \(hint)" }
}
