/// Everything that can go wrong while building a tokenizer or tokenizing, with the GGUF key or
/// token involved so a user can tell which file entry is at fault.
public enum TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A required metadata key is absent.
    case missingKey(String)
    /// A metadata key holds a value of the wrong type or shape.
    case invalidValue(key: String, reason: String)
    /// `tokenizer.ggml.model` is `gpt2` but `tokenizer.ggml.merges` is absent.
    case vocabularyWithoutMerges(key: String)
    /// `tokenizer.ggml.model` names a tokenizer this module does not implement.
    case unsupportedModel(key: String, value: String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer this module does not implement.
    case unsupportedPreTokenizer(key: String, value: String)
    /// A special-token id key points outside the vocabulary.
    case specialTokenOutOfRange(key: String, id: Int64, vocabularySize: Int)
    /// Two vocabulary entries have the same text (llama.cpp refuses such a vocabulary too).
    case duplicateToken(text: String, firstID: Int, secondID: Int)
    /// The input held a byte sequence that decodes above U+10FFFF (llama.cpp throws here too).
    case invalidUTF8(byteOffset: Int)

    public var description: String {
        switch self {
        case .missingKey(let key):
            return "GGUF metadata key '\(key)' is missing; the file has no usable tokenizer"
        case .invalidValue(let key, let reason):
            return "GGUF metadata key '\(key)' is invalid: \(reason)"
        case .vocabularyWithoutMerges(let key):
            return "vocabulary without merges: byte-level BPE ('gpt2') needs '\(key)', which is absent"
        case .unsupportedModel(let key, let value):
            return "unsupported tokenizer model '\(value)' in '\(key)' (supported: gpt2 = byte-level BPE, llama = SentencePiece)"
        case .unsupportedPreTokenizer(let key, let value):
            return "unsupported pre-tokenizer '\(value)' in '\(key)' (supported: llama-bpe, qwen2 and their aliases)"
        case .specialTokenOutOfRange(let key, let id, let size):
            return "special token id \(id) in '\(key)' is outside the vocabulary (size \(size))"
        case .duplicateToken(let text, let first, let second):
            return "vocabulary entries \(first) and \(second) have the same text '\(text)'"
        case .invalidUTF8(let offset):
            return "input is not valid UTF-8 at byte \(offset) (code point above U+10FFFF)"
        }
    }
}
