import Models

/// Everything that can go wrong loading a language model or generating text.
public enum RuntimeError: Error, Sendable, CustomStringConvertible {
    /// The prompt bytes are not valid UTF-8 (`offset` is the first bad byte).
    case invalidUTF8Prompt(offset: Int)
    /// The prompt tokenized to nothing.
    case emptyPrompt
    /// The prompt (plus at least one generated token) does not fit the context window.
    case promptTooLong(promptTokens: Int, contextLength: Int)
    /// The model file could not be used (wrong architecture, missing tensor, ...).
    case model(ModelsError)
    /// The tokenizer could not be built from the file's metadata.
    case tokenizer(file: String, detail: String)
    /// A marker the image layout needs (`<image>`, `<slice>`, …) is not a token of the vocabulary.
    case missingImageMarker(file: String, marker: String)
    /// The image could not be read or prepared (decode, size, slicing).
    case image(source: String, detail: String)
    /// The backend configuration cannot be used (unknown form, a delegate that does not load).
    case backend(String)

    public var description: String {
        switch self {
        case let .invalidUTF8Prompt(offset):
            "the prompt is not valid UTF-8 (first bad byte at offset \(offset))"
        case .emptyPrompt:
            "the prompt is empty after tokenization"
        case let .promptTooLong(promptTokens, contextLength):
            "the prompt has \(promptTokens) tokens but the context holds \(contextLength) (shorten the prompt or raise --context)"
        case let .model(error):
            error.description
        case let .missingImageMarker(file, marker):
            "\(file): the vocabulary has no token for the image marker '\(marker)'; this LLM cannot take images"
        case let .image(source, detail):
            "\(source): \(detail)"
        case let .tokenizer(file, detail):
            "\(file): tokenizer: \(detail)"
        case let .backend(detail):
            "backend configuration: \(detail)"
        }
    }
}
