import ArgumentParser
import Foundation
import Runtime

/// `edgevlm generate`: text generation with a GGUF language model.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text from a prompt with a GGUF language model (Qwen2 / Llama 3 layouts).")

    @Option(name: .shortAndLong, help: "Path of the GGUF language model.")
    var model: String

    @Option(name: .shortAndLong, help: "Prompt text (UTF-8).")
    var prompt: String

    @Flag(help: "Feed the prompt as is, without the chat template (BOS added if the vocabulary adds one).")
    var raw = false

    @Option(help: "System message (chat template mode only).")
    var system: String?

    @Option(name: .customLong("max-tokens"), help: "Maximum tokens to generate.")
    var maxTokens: Int = 128

    @Option(help: "Temperature; 0 is greedy. A positive value samples with MiniCPM-V's defaults (top-p 0.8, top-k 100, repetition penalty 1.05).")
    var temp: Float = 0

    @Option(name: .customLong("top-p"), help: "Top-p (sampled mode).")
    var topP: Float?

    @Option(name: .customLong("top-k"), help: "Top-k (sampled mode).")
    var topK: Int?

    @Option(name: .customLong("min-p"), help: "Min-p (sampled mode).")
    var minP: Float?

    @Option(name: .customLong("repeat-penalty"), help: "Repetition penalty (sampled mode).")
    var repeatPenalty: Float?

    @Option(help: "Random seed for sampling.")
    var seed: UInt64 = 0

    @Option(help: "Threads.")
    var threads: Int = 1

    @Option(help: "Context length (KV cache positions); default min(training context, 4096).")
    var context: Int?

    @Option(name: .customLong("stop"), help: "Stop string (repeatable).")
    var stop: [String] = []

    @Flag(help: "Print one JSON object (tokens, text, timings) instead of streaming text.")
    var json = false

    /// The prompt's bytes exactly as given on the command line (Swift's `CommandLine.arguments`
    /// repairs invalid UTF-8 to U+FFFD, which would hide a bad prompt).
    static func rawPromptBytes() -> [UInt8]? {
        let argv = (0..<Int(CommandLine.argc)).compactMap { i in
            CommandLine.unsafeArgv[i].map { Array(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: strlen($0))) }
        }
        for (i, argument) in argv.enumerated() {
            if (argument == Array("--prompt".utf8) || argument == Array("-p".utf8)), i + 1 < argv.count { return argv[i + 1] }
            if argument.starts(with: Array("--prompt=".utf8)) { return Array(argument.dropFirst(9)) }
        }
        return nil
    }

    func run() throws {
        let language = try LanguageModel(path: model, options: LanguageModelOptions(threadCount: threads, contextLength: context))
        var sampling = SamplingParameters.greedy
        if temp > 0 {
            sampling = .sampled(seed: seed)
            sampling.temperature = temp
        }
        if let topP { sampling.topP = topP }
        if let topK { sampling.topK = topK }
        if let minP { sampling.minP = minP }
        if let repeatPenalty { sampling.repetitionPenalty = repeatPenalty }
        let options = GenerationOptions(maxTokens: maxTokens, sampling: sampling, stopStrings: stop)
        let tokens = try language.promptTokens(utf8: Self.rawPromptBytes() ?? Array(prompt.utf8), raw: raw, system: system)
        let result = try language.generate(tokens: tokens, options: options) { piece in
            if !json {
                FileHandle.standardOutput.write(Data(piece.text.utf8))
            }
            return true
        }
        let t = result.timings
        if json {
            let object: [String: Any] = [
                "tokens": result.tokens.map(Int.init), "text": result.text, "stop_reason": result.stopReason.rawValue,
                "prompt_token_ids": tokens.map(Int.init),
                "timings": ["prompt_tokens": t.promptTokens, "prompt_tps": t.promptTokensPerSecond,
                            "generated_tokens": t.generatedTokens, "generate_tps": t.generatedTokensPerSecond,
                            "time_to_first_token_s": t.timeToFirstToken],
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("")
            FileHandle.standardError.write(Data(String(format: "prompt: %d tokens, %.1f tok/s | generated: %d tokens, %.1f tok/s | first token %.3f s\n",
                                                       t.promptTokens, t.promptTokensPerSecond, t.generatedTokens,
                                                       t.generatedTokensPerSecond, t.timeToFirstToken).utf8))
        }
    }
}
