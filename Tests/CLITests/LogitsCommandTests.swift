import Foundation
import Testing

/// Runs the built `edgevlm logits` on the committed tiny Q8_0 fixture against llama.cpp's goldens.
@Suite struct LogitsCommandTests {
    struct Golden: Decodable {
        let n_vocab: Int
        let logits_tokens: [Int]
        let logits_file: String
        let greedy_prompt_tokens: [Int]
        let greedy_tokens: [Int]
    }

    static let fixtures = InspectCommandTests.repoRoot.appendingPathComponent("Tests/ModelsTests/Fixtures")
    static let name = "tiny-qwen2-q8_0"

    static func golden() throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: fixtures.appendingPathComponent("\(name).json")))
    }

    static func readRows(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    static func temporaryFile() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-logits-\(UUID().uuidString).f32")
    }

    /// One batch: the rows are the decoder's, so they meet DecoderParityTests' Q8_0 bound (4e-3).
    @Test func batchRowsMatchLlamaCpp() throws {
        let golden = try Self.golden()
        let output = Self.temporaryFile()
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try InspectCommandTests.run([
            "logits", "--model", Self.fixtures.appendingPathComponent("\(Self.name).gguf").path,
            "--tokens", golden.logits_tokens.map(String.init).joined(separator: ","), "--output", output.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try Self.readRows(output)
        let expected = try Self.readRows(Self.fixtures.appendingPathComponent(golden.logits_file))
        try #require(rows.count == golden.logits_tokens.count * golden.n_vocab)
        try #require(rows.count == expected.count)
        var difference = 0.0, norm = 0.0
        for (a, b) in zip(rows, expected) {
            difference += Double(a - b) * Double(a - b)
            norm += Double(b) * Double(b)
        }
        #expect((difference / norm).squareRoot() < 4e-3)
        let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        #expect(object?["vocabulary_size"] as? Int == golden.n_vocab)
    }

    /// Prompt in one batch, then llama.cpp's greedy tokens one at a time: every row's argmax is
    /// the token llama.cpp generated next (greedy is identical on this file).
    @Test func incrementalRowsFollowLlamaCppGreedy() throws {
        let golden = try Self.golden()
        let output = Self.temporaryFile()
        defer { try? FileManager.default.removeItem(at: output) }
        let sequence = golden.greedy_prompt_tokens + golden.greedy_tokens.dropLast()
        let result = try InspectCommandTests.run([
            "logits", "--model", Self.fixtures.appendingPathComponent("\(Self.name).gguf").path,
            "--tokens", sequence.map(String.init).joined(separator: ","),
            "--batch", String(golden.greedy_prompt_tokens.count), "--output", output.path, "--threads", "2",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        let argmax = try #require(object?["argmax"] as? [Int])
        #expect(argmax.count == sequence.count)
        #expect(Array(argmax.suffix(golden.greedy_tokens.count)) == golden.greedy_tokens)
    }

    @Test func badInputNamesWhatIsWrong() throws {
        let model = Self.fixtures.appendingPathComponent("\(Self.name).gguf").path
        let output = Self.temporaryFile()
        defer { try? FileManager.default.removeItem(at: output) }
        let notANumber = try InspectCommandTests.run(["logits", "--model", model, "--tokens", "5,x7", "--output", output.path])
        #expect(notANumber.status != 0)
        #expect(notANumber.stderr.contains("x7"))
        let outOfRange = try InspectCommandTests.run(["logits", "--model", model, "--tokens", "5,99999", "--output", output.path])
        #expect(outOfRange.status != 0)
        #expect(outOfRange.stderr.contains("99999"), "\(outOfRange.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
        let missing = try InspectCommandTests.run(["logits", "--model", "/nonexistent.gguf", "--tokens", "1", "--output", output.path])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("/nonexistent.gguf"))
    }
}
