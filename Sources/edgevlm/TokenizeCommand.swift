import ArgumentParser
import Foundation
import GGUF
import Tokenizer

/// `edgevlm tokenize MODEL.gguf (--prompt TEXT | --file PATH)`: the model's tokenization of a
/// text, as llama.cpp's `llama-tokenize` prints it, plus a timing mode for benchmarks.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize text with a GGUF file's vocabulary (byte-level BPE: qwen2, llama-bpe; SentencePiece).",
        discussion: """
            Prints one line per token: id and piece (control tokens rendered). --json prints
            {"tokens": [ids], "pieces": [strings], "vocabulary_size", "model" (gpt2 or llama),
            "pre_tokenizer" (null for SentencePiece), "chat_template"}.
            --chat wraps the text as one user turn of the file's chat template (ChatML or Llama 3,
            detected as llama.cpp does) with the assistant prompt. --repeat N tokenizes N times and
            reports the median time. Errors go to stderr with exit status 1.
            """
    )

    @Argument(help: "A GGUF file with tokenizer.* metadata (model or vocabulary-only).")
    var model: String

    @Option(help: "The text to tokenize.")
    var prompt: String?

    @Option(help: "Read the text from this file (UTF-8).")
    var file: String?

    @Flag(help: "Do not add BOS/EOS even if the vocabulary asks for them.")
    var noSpecial = false

    @Flag(help: "Treat control-token texts like <|im_start|> as plain text (llama.cpp's parse_special = false).")
    var noParseSpecial = false

    @Flag(help: "Render the text as one user message with the file's chat template first.")
    var chat = false

    @Flag(help: "Print JSON.")
    var json = false

    @Option(help: "Tokenize this many times and print timing only.")
    var repeatCount: Int?

    func run() throws {
        let text: String
        switch (prompt, file) {
        case (let prompt?, nil): text = prompt
        case (nil, let file?):
            guard let data = FileManager.default.contents(atPath: file),
                  let decoded = String(data: data, encoding: .utf8) else {
                throw ValidationError("cannot read UTF-8 text from \(file)")
            }
            text = decoded
        default:
            throw ValidationError("give exactly one of --prompt and --file")
        }
        let start = Date()
        let tokenizer: BPETokenizer
        do {
            tokenizer = try BPETokenizer(gguf: GGUFFile(path: model))
        } catch {
            FileHandle.standardError.write(Data("edgevlm tokenize: \(model): \(error)\n".utf8))
            throw ExitCode.failure
        }
        let loadSeconds = Date().timeIntervalSince(start)
        var input = text
        if chat {
            guard let template = ChatTemplate.detect(from: tokenizer.chatTemplate) else {
                FileHandle.standardError.write(Data("edgevlm tokenize: unsupported chat template in \(model)\n".utf8))
                throw ExitCode.failure
            }
            input = template.render(messages: [ChatMessage(role: "user", content: text)], addAssistantPrompt: true)
        }
        if let repeatCount {
            var times: [Double] = []
            var count = 0
            for _ in 0..<max(1, repeatCount) {
                let begin = Date()
                count = tokenizer.tokenize(input, addSpecial: !noSpecial, parseSpecial: !noParseSpecial).count
                times.append(Date().timeIntervalSince(begin))
            }
            times.sort()
            let median = times[times.count / 2]
            print(String(format: "load %.1f ms; %d bytes -> %d tokens; median %.2f ms, min %.2f ms over %d runs (%.1f MB/s)",
                         loadSeconds * 1000, input.utf8.count, count, median * 1000, times[0] * 1000,
                         times.count, Double(input.utf8.count) / median / 1e6))
            return
        }
        let tokens = tokenizer.tokenize(input, addSpecial: !noSpecial, parseSpecial: !noParseSpecial)
        let pieces = tokens.map { String(decoding: tokenizer.piece(for: $0, special: true), as: UTF8.self) }
        if json {
            let object: [String: Any] = [
                "tokens": tokens.map { Int($0) }, "pieces": pieces, "vocabulary_size": tokenizer.vocabularySize,
                "model": tokenizer.model.rawValue,
                "pre_tokenizer": tokenizer.preTokenizer?.rawValue ?? NSNull(),
                "chat_template": ChatTemplate.detect(from: tokenizer.chatTemplate)?.rawValue ?? NSNull(),
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for (token, piece) in zip(tokens, pieces) {
                let id = String(token)
                print(String(repeating: " ", count: max(0, 6 - id.count)) + id + " -> '" + piece + "'")
            }
        }
    }
}
