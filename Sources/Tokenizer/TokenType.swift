/// Token identifier, as llama.cpp's `llama_token`.
public typealias TokenID = Int32

/// The per-token type stored in `tokenizer.ggml.token_type` (llama.cpp `llama_token_type`).
public enum TokenType: Int32, Sendable, CaseIterable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// llama.cpp's token attributes (`llama_token_attr`), derived from the token type at load time
/// and amended by name heuristics (end-of-generation tokens become control tokens).
public struct TokenAttributes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let unknown = TokenAttributes(rawValue: 1 << 0)
    public static let unused = TokenAttributes(rawValue: 1 << 1)
    public static let normal = TokenAttributes(rawValue: 1 << 2)
    public static let control = TokenAttributes(rawValue: 1 << 3)
    public static let userDefined = TokenAttributes(rawValue: 1 << 4)
    public static let byte = TokenAttributes(rawValue: 1 << 5)

    /// The attributes llama.cpp derives from a stored token type (unknown values: none).
    public init(type: Int32) {
        switch TokenType(rawValue: type) {
        case .unknown: self = .unknown
        case .unused: self = .unused
        case .normal: self = .normal
        case .control: self = .control
        case .userDefined: self = .userDefined
        case .byte: self = .byte
        case .undefined, .none: self = []
        }
    }
}
