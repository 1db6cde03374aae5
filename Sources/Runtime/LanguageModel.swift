import Foundation
import GGUF
import Models
import Tokenizer

/// A GGUF language model ready to generate: decoder, tokenizer, chat template and one KV cache.
///
/// Requests are served one at a time (a lock serializes them); a request that shares a token
/// prefix with the previous one (system prompt, template head) reuses its cached keys/values.
public final class LanguageModel: @unchecked Sendable {
    /// The decoder (weights memory-mapped from the file).
    public let decoder: Decoder
    /// The file's tokenizer (byte-level BPE or SentencePiece).
    public let tokenizer: BPETokenizer
    /// The prompt format chosen from `tokenizer.chat_template` (nil: none recognised, raw only).
    public let chatTemplate: ChatTemplate?
    private let cache: KVCache
    private let lock = NSLock()

    /// Loads the model at `path`.
    /// - Throws: ``RuntimeError/model(_:)`` (bad file, other architecture, missing tensors) or
    ///   ``RuntimeError/tokenizer(file:detail:)``.
    /// - Parameter router: where the decoder's products run; nil builds one from
    ///   `options.backends` (pass one to share it with a vision tower).
    public init(path: String, options: LanguageModelOptions = LanguageModelOptions(), router: OpRouter? = nil) throws {
        let router = try router ?? options.makeRouter()
        do {
            decoder = try Decoder(path: path, threadCount: options.threadCount, router: router)
        } catch let error as ModelsError {
            throw RuntimeError.model(error)
        }
        tokenizer = try GGUFTokenizerLoader.load(decoder.file)
        chatTemplate = ChatTemplate.detect(from: tokenizer.chatTemplate)
        let capacity = options.contextLength ?? min(decoder.configuration.contextLength, 4096)
        cache = decoder.makeCache(capacity: capacity, storageType: options.cacheType)
    }

    /// KV cache capacity in tokens.
    public var contextLength: Int { cache.capacity }

    /// Prompt tokens for `prompt`: raw (BOS if the vocabulary adds one, special tokens parsed) or
    /// wrapped as one user turn of the file's chat template with the assistant prompt appended.
    /// - Throws: ``RuntimeError/invalidUTF8Prompt(offset:)`` for bytes that are not UTF-8.
    public func promptTokens(utf8 prompt: [UInt8], raw: Bool, system: String? = nil) throws -> [Int32] {
        guard let text = String(validating: prompt, as: UTF8.self) else {
            throw RuntimeError.invalidUTF8Prompt(offset: LanguageModel.firstInvalidUTF8Offset(prompt))
        }
        return promptTokens(text, raw: raw, system: system)
    }

    /// As ``promptTokens(utf8:raw:system:)`` for a `String` (always valid UTF-8).
    public func promptTokens(_ prompt: String, raw: Bool, system: String? = nil) -> [Int32] {
        guard !raw, let template = chatTemplate else {
            return tokenizer.tokenize(prompt, addSpecial: true, parseSpecial: true)
        }
        var messages: [ChatMessage] = []
        if let system { messages.append(ChatMessage(role: "system", content: system)) }
        messages.append(ChatMessage(role: "user", content: prompt))
        let rendered = template.render(messages: messages, addAssistantPrompt: true)
        // Templates that write BOS themselves (Llama 3) must not get a second one.
        let addSpecial = tokenizer.addsBOS && !(tokenizer.specialTokens.bos.flatMap { tokenizer.text(of: $0) }.map(rendered.hasPrefix) ?? false)
        return tokenizer.tokenize(rendered, addSpecial: addSpecial, parseSpecial: true)
    }

    /// Generates a reply to `prompt` (see ``promptTokens(_:raw:system:)``), streaming pieces
    /// to `onToken` (return false to stop).
    /// - Throws: ``RuntimeError/promptTooLong(promptTokens:contextLength:)``, ``RuntimeError/emptyPrompt``.
    public func generate(prompt: String, raw: Bool = false, system: String? = nil,
                         options: GenerationOptions = GenerationOptions(),
                         onToken: (GeneratedToken) -> Bool = { _ in true }) throws -> GenerationResult {
        try generate(tokens: promptTokens(prompt, raw: raw, system: system), options: options, onToken: onToken)
    }

    /// Generates after the given prompt tokens.
    public func generate(tokens prompt: [Int32], options: GenerationOptions = GenerationOptions(),
                         onToken: (GeneratedToken) -> Bool = { _ in true }) throws -> GenerationResult {
        lock.lock()
        defer { lock.unlock() }
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        let generator = TokenGenerator(decoder: decoder, cache: cache)
        let tokenizer = self.tokenizer
        return try generator.generate(prompt: prompt, options: options,
                                      isEndOfGeneration: { tokenizer.isEndOfGeneration($0) },
                                      pieceText: { detokenizer.append($0) },
                                      remainingText: { detokenizer.finish() }, onToken: onToken)
    }

    /// Generates after a prompt of text tokens and embedding rows (e.g. image embeddings).
    /// - Throws: ``RuntimeError/promptTooLong(promptTokens:contextLength:)``, ``RuntimeError/emptyPrompt``,
    ///   ``RuntimeError/model(_:)`` when an embedding chunk's width is not the model's.
    public func generate(chunks: [PromptChunk], options: GenerationOptions = GenerationOptions(),
                         onToken: (GeneratedToken) -> Bool = { _ in true }) throws -> GenerationResult {
        lock.lock()
        defer { lock.unlock() }
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        let generator = TokenGenerator(decoder: decoder, cache: cache)
        let tokenizer = self.tokenizer
        return try generator.generate(chunks: chunks, options: options,
                                      isEndOfGeneration: { tokenizer.isEndOfGeneration($0) },
                                      pieceText: { detokenizer.append($0) },
                                      remainingText: { detokenizer.finish() }, onToken: onToken)
    }

    /// The same as ``generate(prompt:raw:system:options:onToken:)`` as an `AsyncThrowingStream` of
    /// pieces; generation runs on a detached task and stops when the consumer stops listening.
    public func stream(prompt: String, raw: Bool = false, system: String? = nil,
                       options: GenerationOptions = GenerationOptions()) -> AsyncThrowingStream<GeneratedToken, Error> {
        AsyncThrowingStream { continuation in
            let task = Task.detached { [self] in
                do {
                    _ = try generate(prompt: prompt, raw: raw, system: system, options: options) { piece in
                        if Task.isCancelled { return false }
                        continuation.yield(piece)
                        return true
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int {
        var offset = 0
        while offset < bytes.count {
            let b = bytes[offset]
            let length = b < 0x80 ? 1 : b >> 5 == 0b110 ? 2 : b >> 4 == 0b1110 ? 3 : b >> 3 == 0b11110 ? 4 : 0
            guard length > 0, offset + length <= bytes.count,
                  String(validating: bytes[offset..<(offset + length)], as: UTF8.self) != nil else { return offset }
            offset += length
        }
        return offset
    }
}
