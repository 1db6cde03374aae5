import Foundation
import Testing

/// Runs the built `edgevlm tokenize` on the committed test vocabularies against llama.cpp's goldens.
@Suite struct TokenizeCommandTests {
    struct Goldens: Decodable {
        struct Case: Decodable { let input: String; let tokens_add1_parse1: [Int32] }
        let cases: [Case]
    }

    @Test(arguments: ["qwen2", "llama-bpe"])
    func jsonTokensMatchLlamaCpp(pre: String) throws {
        let fixtures = InspectCommandTests.repoRoot.appendingPathComponent("Tests/TokenizerTests/Fixtures")
        let data = try Data(contentsOf: fixtures.appendingPathComponent("tokenizer-goldens-\(pre).json"))
        let goldens = try JSONDecoder().decode(Goldens.self, from: data)
        // A few inputs that survive a command line: non-empty, valid UTF-8, no NUL.
        let texts = goldens.cases.compactMap { golden -> (String, [Int32])? in
            guard let bytes = Data(base64Encoded: golden.input), !bytes.isEmpty, !bytes.contains(0),
                  let text = String(validating: Array(bytes), as: UTF8.self) else { return nil }
            return (text, golden.tokens_add1_parse1)
        }
        // Each run loads the vocabulary (slow in a debug build): two runs, one with special tokens.
        let chosen = Array(texts.filter { $0.0.contains("<|") }.prefix(1)) + [texts[75]]
        for (text, expected) in chosen {
            let result = try InspectCommandTests.run(
                ["tokenize", fixtures.appendingPathComponent("vocab-\(pre).gguf").path, "--prompt", text, "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
            let tokens = (object?["tokens"] as? [Int])?.map { Int32($0) }
            #expect(tokens == expected, "\(text.debugDescription)")
        }
    }

    @Test(arguments: ["spm", "spm-noprefix"])
    func sentencePieceJSONTokensMatchLlamaCpp(variant: String) throws {
        let fixtures = InspectCommandTests.repoRoot.appendingPathComponent("Tests/TokenizerTests/Fixtures")
        let data = try Data(contentsOf: fixtures.appendingPathComponent("tokenizer-goldens-\(variant).json"))
        let goldens = try JSONDecoder().decode(Goldens.self, from: data)
        let texts = goldens.cases.compactMap { golden -> (String, [Int32])? in
            guard let bytes = Data(base64Encoded: golden.input), !bytes.isEmpty, !bytes.contains(0),
                  let text = String(validating: Array(bytes), as: UTF8.self) else { return nil }
            return (text, golden.tokens_add1_parse1)
        }
        // One with a special token, one plain sentence with spaces.
        let chosen = Array(texts.filter { $0.0.contains("<image>") }.prefix(1))
            + Array(texts.filter { $0.0.contains("New York") }.prefix(1))
        try #require(chosen.count == 2)
        for (text, expected) in chosen {
            let result = try InspectCommandTests.run(
                ["tokenize", fixtures.appendingPathComponent("vocab-\(variant).gguf").path, "--prompt", text, "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
            let tokens = (object?["tokens"] as? [Int])?.map { Int32($0) }
            #expect(tokens == expected, "\(text.debugDescription)")
            #expect(object?["model"] as? String == "llama")
            #expect(object?["pre_tokenizer"] is NSNull)
        }
    }

    @Test func badVocabularyFailsWithTheKey() throws {
        let path = InspectCommandTests.repoRoot.appendingPathComponent(".testdata/tokenizer/bad-no-merges.gguf").path
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("missing \(path): run scripts/gen-testdata.sh first")
            return
        }
        let result = try InspectCommandTests.run(["tokenize", path, "--prompt", "x"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("vocabulary without merges"))
        #expect(result.stderr.contains("tokenizer.ggml.merges"))
    }
}
