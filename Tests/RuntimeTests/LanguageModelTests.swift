import Foundation
import Models
import Runtime
import Testing

/// Paths of the language-model test data (see Tests/ModelsTests/LLMFixtures.swift).
enum RuntimeFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ name: String) throws -> String {
        let dir = name.hasSuffix("-f16") || name.hasPrefix("broken") ? ".testdata/llm" : "Tests/ModelsTests/Fixtures"
        let path = root.appendingPathComponent(dir).appendingPathComponent(name + ".gguf").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: "\(path) is missing: run scripts/gen-testdata.sh"])
        }
        return path
    }

    struct Golden: Decodable {
        struct Tokenization: Decodable { let text: String; let tokens: [Int32] }
        let tokenization: [Tokenization]
        let greedy_prompt: String
        let greedy_prompt_tokens: [Int32]
        let greedy_tokens: [Int32]
        let greedy_text: String
    }

    static func golden(_ name: String) throws -> Golden {
        let url = root.appendingPathComponent("Tests/ModelsTests/Fixtures/\(name).json")
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }
}

@Suite("Language model façade")
struct LanguageModelTests {
    @Test("raw prompts tokenize as llama.cpp does", arguments: ["tiny-qwen2-f16", "tiny-llama-f16"])
    func tokenization(name: String) throws {
        let model = try LanguageModel(path: RuntimeFixtures.path(name))
        for case let item in try RuntimeFixtures.golden(name).tokenization {
            #expect(model.promptTokens(item.text, raw: true) == item.tokens, "\(item.text)")
        }
    }

    @Test("greedy generation from text equals llama.cpp's", arguments: ["tiny-qwen2-q8_0", "tiny-llama-q4_0"])
    func greedyText(name: String) throws {
        let golden = try RuntimeFixtures.golden(name)
        let model = try LanguageModel(path: RuntimeFixtures.path(name), options: LanguageModelOptions(threadCount: 2, contextLength: 128))
        #expect(model.promptTokens(golden.greedy_prompt, raw: true) == golden.greedy_prompt_tokens)
        let result = try model.generate(prompt: golden.greedy_prompt, raw: true,
                                        options: GenerationOptions(maxTokens: golden.greedy_tokens.count))
        #expect(result.tokens == golden.greedy_tokens)
        // The whole text, as llama.cpp detokenizes the tokens (bytes of an unfinished last
        // character included, as U+FFFD).
        #expect(result.text == golden.greedy_text)
        #expect(result.stopReason == .maxTokens)
        #expect(result.timings.promptTokens == golden.greedy_prompt_tokens.count && result.timings.generatedTokens == golden.greedy_tokens.count)
    }

    @Test("stop tokens, stop strings and max tokens end generation")
    func stopRules() throws {
        let model = try LanguageModel(path: RuntimeFixtures.path("tiny-qwen2-f16"), options: LanguageModelOptions(contextLength: 128))
        let free = try model.generate(prompt: "The cat", raw: true, options: GenerationOptions(maxTokens: 12))
        #expect(free.tokens.count == 12 && free.stopReason == .maxTokens)

        let stopToken = free.tokens[4]
        let firstIndex = free.tokens.firstIndex(of: stopToken)!
        let byToken = try model.generate(prompt: "The cat", raw: true, options: GenerationOptions(maxTokens: 12, stopTokens: [stopToken]))
        #expect(byToken.stopReason == .stopToken && byToken.tokens == Array(free.tokens[...firstIndex]))

        let text = free.text
        let scalars = Array(text.unicodeScalars)
        let stop = String(String.UnicodeScalarView(scalars[(scalars.count / 2)..<(scalars.count / 2 + 2)]))
        let byString = try model.generate(prompt: "The cat", raw: true, options: GenerationOptions(maxTokens: 12, stopStrings: [stop]))
        #expect(byString.stopReason == .stopString)
        #expect(!byString.text.contains(stop) && text.hasPrefix(byString.text))
    }

    @Test("a request sharing a prefix reuses the cache and gives the same tokens")
    func prefixReuse() throws {
        let path = try RuntimeFixtures.path("tiny-llama-q8_0")
        let model = try LanguageModel(path: path, options: LanguageModelOptions(contextLength: 128))
        let system = "You are a helpful assistant. Describe the picture."
        _ = try model.generate(prompt: "What is this?", system: system, options: GenerationOptions(maxTokens: 4))
        let second = try model.generate(prompt: "Is there a cat?", system: system, options: GenerationOptions(maxTokens: 8))
        #expect(second.timings.reusedPromptTokens > 10)
        let fresh = try LanguageModel(path: path, options: LanguageModelOptions(contextLength: 128))
            .generate(prompt: "Is there a cat?", system: system, options: GenerationOptions(maxTokens: 8))
        #expect(fresh.timings.reusedPromptTokens == 0)
        #expect(second.tokens == fresh.tokens)
    }

    @Test("streaming yields the pieces of the final text")
    func streaming() async throws {
        let model = try LanguageModel(path: RuntimeFixtures.path("tiny-qwen2-q4_0"), options: LanguageModelOptions(contextLength: 64))
        var streamed = ""
        var count = 0
        for try await piece in model.stream(prompt: "Hello", raw: true, options: GenerationOptions(maxTokens: 10)) {
            streamed += piece.text
            count += 1
        }
        let direct = try model.generate(prompt: "Hello", raw: true, options: GenerationOptions(maxTokens: 10))
        #expect(count == direct.tokens.count && streamed == direct.text)
    }

    @Test("bad input gives clear errors")
    func badInput() throws {
        let model = try LanguageModel(path: RuntimeFixtures.path("tiny-qwen2-f16"), options: LanguageModelOptions(contextLength: 8))
        #expect {
            try model.generate(prompt: "one two three four five six seven eight nine ten", raw: true)
        } throws: { error in
            guard case let RuntimeError.promptTooLong(tokens, context) = error else { return false }
            return tokens > 8 && context == 8 && "\(error)".contains("context")
        }
        #expect {
            try model.promptTokens(utf8: Array("ok ".utf8) + [0xC3, 0x28], raw: true)
        } throws: { error in
            guard case let RuntimeError.invalidUTF8Prompt(offset) = error else { return false }
            return offset == 3
        }
        #expect {
            try LanguageModel(path: RuntimeFixtures.path("broken-nomerges"))
        } throws: { error in
            guard case let RuntimeError.tokenizer(_, detail) = error else { return false }
            return detail.contains("merges")
        }
        #expect {
            try LanguageModel(path: RuntimeFixtures.path("broken-architecture"))
        } throws: { error in
            guard case RuntimeError.model(.unsupportedArchitecture) = error else { return false }
            return true
        }
    }
}
