import ArgumentParser
import Foundation
import Models
import Runtime

/// `edgevlm logits --model M --tokens IDS --output F`: the logits of a fixed token sequence, for
/// comparing the decoder with another implementation (llama.cpp) position by position.
struct LogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits",
        abstract: "Write the logits a GGUF language model gives for a fixed token sequence.",
        discussion: """
            The first --batch tokens (default: all) run in one forward pass, the rest one at a time
            as generation feeds them, so the rows come from the same code path that greedy decoding
            of that sequence uses. Writes tokens × vocabulary little-endian Float32 rows to
            --output and prints {"tokens", "vocabulary_size", "argmax"} as JSON.
            """
    )

    @Option(name: .shortAndLong, help: "Path of the GGUF language model.")
    var model: String

    @Option(help: "Token ids, comma-separated.")
    var tokens: String

    @Option(help: "How many leading tokens run in one batch (default: all).")
    var batch: Int?

    @Option(help: "File for the Float32 logits (rows × vocabulary).")
    var output: String

    @Option(help: "Threads.")
    var threads: Int = 1

    func run() throws {
        let ids = try tokens.split(separator: ",").map { text -> Int32 in
            guard let id = Int32(text.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--tokens: '\(text)' is not a token id")
            }
            return id
        }
        guard !ids.isEmpty else { throw ValidationError("--tokens is empty") }
        let batched = batch ?? ids.count
        guard (1...ids.count).contains(batched) else {
            throw ValidationError("--batch must be between 1 and the number of tokens (\(ids.count))")
        }
        let options = LanguageModelOptions(threadCount: threads, contextLength: ids.count)
        let decoder: Decoder
        do {
            decoder = try Decoder(path: model, threadCount: threads, router: options.makeRouter())
        } catch {
            FileHandle.standardError.write(Data("edgevlm logits: \(model): \(error)\n".utf8))
            throw ExitCode.failure
        }
        let cache = decoder.makeCache(capacity: ids.count, storageType: options.cacheType)
        var rows: [Float]
        do {
            rows = try decoder.forward(tokens: Array(ids[..<batched]), cache: cache, logits: .all)
            for id in ids[batched...] {
                rows += try decoder.forward(tokens: [id], cache: cache, logits: .last)
            }
        } catch {
            FileHandle.standardError.write(Data("edgevlm logits: \(error)\n".utf8))
            throw ExitCode.failure
        }
        let vocabulary = decoder.configuration.vocabularySize
        let bytes = rows.withUnsafeBufferPointer { Data(buffer: $0) }
        do {
            try bytes.write(to: URL(fileURLWithPath: output))
        } catch {
            FileHandle.standardError.write(Data("edgevlm logits: cannot write \(output): \(error.localizedDescription)\n".utf8))
            throw ExitCode.failure
        }
        // The first maximum, as a greedy sampler picks it.
        let argmax = (0..<ids.count).map { r -> Int in
            let base = r * vocabulary
            var best = 0
            for j in 1..<vocabulary where rows[base + j] > rows[base + best] { best = j }
            return best
        }
        let object: [String: Any] = ["tokens": ids.count, "vocabulary_size": vocabulary, "argmax": argmax]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
