import Foundation
import GGUF
@testable import Runtime
import Testing
import Tokenizer

/// The runtime accepts SentencePiece vocabularies (GGUF `tokenizer.ggml.model = llama`) and
/// still names the key and value of a tokenizer model it does not implement.
@Suite("SentencePiece vocabularies in the runtime")
struct SentencePieceRuntimeTests {
    static let fixtures = RuntimeFixtures.root.appendingPathComponent("Tests/TokenizerTests/Fixtures")

    @Test("the loader accepts an SPM vocabulary and tokenizes as llama.cpp")
    func loaderAcceptsSentencePiece() throws {
        let tokenizer = try GGUFTokenizerLoader.load(GGUFFile(path: Self.fixtures.appendingPathComponent("vocab-spm.gguf").path))
        #expect(tokenizer.model == .sentencePiece)
        // llama.cpp (tokenizer-goldens-spm.json): "Hello World" with BOS and the space prefix.
        struct Goldens: Decodable {
            struct Case: Decodable { let input: String; let tokens_add1_parse1: [Int32] }
            let cases: [Case]
        }
        let goldens = try JSONDecoder().decode(
            Goldens.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("tokenizer-goldens-spm.json")))
        let input = Data("Hello World".utf8).base64EncodedString()
        let golden = try #require(goldens.cases.first { $0.input == input })
        #expect(tokenizer.tokenize("Hello World", addSpecial: true, parseSpecial: true) == golden.tokens_add1_parse1)
    }

    @Test("an unknown tokenizer model is a tokenizer error naming key and value")
    func unknownModelIsNamed() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-runtime-bert-\(getpid()).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        var writer = GGUFWriter()
        try writer.setValue(.string("llama"), forKey: "general.architecture")
        try writer.setValue(.string("bert"), forKey: "tokenizer.ggml.model")
        try writer.setValue(.array(.string(["[PAD]", "a"])), forKey: "tokenizer.ggml.tokens")
        try writer.write(to: url.path)
        #expect {
            try GGUFTokenizerLoader.load(GGUFFile(path: url.path))
        } throws: { error in
            guard case let RuntimeError.tokenizer(_, detail) = error else { return false }
            return detail.contains("tokenizer.ggml.model") && detail.contains("'bert'")
        }
    }

    /// tiny-llama-q4_0 with its tokenizer replaced by the first tokens of the SPM test vocabulary
    /// (same vocabulary size): the weights, hence llama.cpp's greedy token ids, are unchanged.
    @Test("a language model with an SPM vocabulary loads, tokenizes and generates")
    func languageModelWithSentencePiece() throws {
        let source = try GGUFFile(path: RuntimeFixtures.path("tiny-llama-q4_0"))
        let vocabulary = try GGUFFile(path: Self.fixtures.appendingPathComponent("vocab-spm.gguf").path).metadata
        let count = try source.metadata.stringArray("tokenizer.ggml.tokens").count
        var writer = GGUFWriter()
        for entry in source.metadata.entries where !entry.key.hasPrefix("tokenizer.ggml.") {
            try writer.setValue(entry.value, forKey: entry.key)
        }
        try writer.setValue(.string("llama"), forKey: "tokenizer.ggml.model")
        try writer.setValue(.array(.string(Array(vocabulary.stringArray("tokenizer.ggml.tokens").prefix(count)))),
                            forKey: "tokenizer.ggml.tokens")
        try writer.setValue(.array(.float32(Array(vocabulary.float32Array("tokenizer.ggml.scores").prefix(count)))),
                            forKey: "tokenizer.ggml.scores")
        try writer.setValue(.array(.int32(Array(vocabulary.int32Array("tokenizer.ggml.token_type").prefix(count)))),
                            forKey: "tokenizer.ggml.token_type")
        for tensor in source.tensors {
            try writer.addTensor(name: tensor.name, type: tensor.type, shape: tensor.shape,
                                 bytes: Array(source.bytes(of: tensor)))
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-tiny-llama-spm-\(getpid()).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try writer.write(to: url.path)

        let model = try LanguageModel(path: url.path, options: LanguageModelOptions(threadCount: 2, contextLength: 128))
        let tokenizer = model.tokenizer
        #expect(tokenizer.model == .sentencePiece)
        let prompt = model.promptTokens("hello world", raw: true)
        #expect(prompt.first == 1)  // SPM default BOS
        #expect(prompt == tokenizer.tokenize("hello world", addSpecial: true, parseSpecial: true))
        #expect(tokenizer.detokenize(prompt, removeSpecial: true) == " hello world")  // llama.cpp keeps it here

        let golden = try RuntimeFixtures.golden("tiny-llama-q4_0")
        let result = try model.generate(tokens: golden.greedy_prompt_tokens,
                                        options: GenerationOptions(maxTokens: golden.greedy_tokens.count))
        #expect(result.tokens == golden.greedy_tokens)
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        // An unfinished character at the end is flushed as U+FFFD, not dropped.
        let streamed = golden.greedy_tokens.map { stream.append($0) }.joined()
        #expect(result.text == streamed + stream.finish())
    }
}
