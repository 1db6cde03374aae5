import GGUF

/// Everything that can go wrong building or running a language model from a GGUF file.
///
/// Each case names the file and, where it applies, the key or tensor, so the message alone says
/// what to fix.
public enum ModelsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `general.architecture` names a network this runtime does not implement.
    case unsupportedArchitecture(file: String, architecture: String, supported: [String])
    /// A hyperparameter is missing or has an impossible value.
    case invalidHyperparameter(file: String, key: String, detail: String)
    /// A tensor the architecture needs is absent.
    case missingTensor(file: String, tensor: String)
    /// A tensor's shape differs from the one the hyperparameters imply (ggml order, ne0 first).
    case tensorShapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])
    /// A tensor's element type has no kernel here.
    case unsupportedTensorType(file: String, tensor: String, type: GGMLType)
    /// The sequence would not fit in the context (KV cache) window.
    case contextOverflow(requested: Int, capacity: Int)
    /// A token id outside the vocabulary.
    case tokenOutOfRange(token: Int32, vocabularySize: Int)
    /// An embeddings input whose row width is not the model's embedding width.
    case embeddingWidthMismatch(expected: Int, found: Int)
    /// The GGUF layer reported a problem (bad file, missing key...).
    case gguf(GGUFError)
    /// An mmproj file that is not a MiniCPM-V vision projector this runtime can run.
    case unsupportedProjector(file: String, detail: String)
    /// The mmproj's output width differs from the language model's embedding width.
    case projectorWidthMismatch(mmproj: String, projectorWidth: Int, model: String, modelWidth: Int)
    /// An image slice the vision encoder cannot take (size not a multiple of the patch size...).
    case invalidImageSlice(detail: String)
    /// An op could not run on any backend (planning failed, or the CPU path itself failed).
    case backend(op: String, detail: String)

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(file, architecture, supported):
            "\(file): architecture '\(architecture)' is not supported (supported: \(supported.joined(separator: ", ")))"
        case let .invalidHyperparameter(file, key, detail):
            "\(file): hyperparameter \(key): \(detail)"
        case let .missingTensor(file, tensor):
            "\(file): tensor '\(tensor)' is missing"
        case let .tensorShapeMismatch(file, tensor, expected, found):
            "\(file): tensor '\(tensor)' has shape \(found), expected \(expected)"
        case let .unsupportedTensorType(file, tensor, type):
            "\(file): tensor '\(tensor)' has type \(type), which has no CPU kernel here"
        case let .contextOverflow(requested, capacity):
            "sequence of \(requested) tokens does not fit the context of \(capacity) tokens (use a shorter prompt, fewer max tokens, or a larger context)"
        case let .tokenOutOfRange(token, vocabularySize):
            "token id \(token) is outside the vocabulary of \(vocabularySize) tokens"
        case let .embeddingWidthMismatch(expected, found):
            "embedding rows have width \(found), the model expects \(expected)"
        case let .gguf(error):
            error.description
        case let .unsupportedProjector(file, detail):
            "\(file): not a supported MiniCPM-V vision projector: \(detail)"
        case let .projectorWidthMismatch(mmproj, projectorWidth, model, modelWidth):
            "\(mmproj) projects images to width \(projectorWidth) but \(model) has embedding width \(modelWidth): the mmproj does not belong to this language model"
        case let .invalidImageSlice(detail):
            "invalid image slice: \(detail)"
        case let .backend(op, detail):
            "op \(op): \(detail)"
        }
    }
}
