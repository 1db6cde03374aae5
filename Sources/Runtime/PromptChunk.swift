/// One piece of a prompt: text tokens, or rows of input embeddings (an image's visual tokens)
/// that the decoder takes in place of token embeddings at the next positions.
public enum PromptChunk: Sendable, Equatable {
    case tokens([Int32])
    /// `rows × width` floats, row-major.
    case embeddings([Float], rows: Int)

    /// Positions the chunk occupies in the sequence.
    public var positionCount: Int {
        switch self {
        case let .tokens(t): t.count
        case let .embeddings(_, rows): rows
        }
    }

    /// The chunk as cache keys: its tokens, or −1 per embedding row (never matched for reuse).
    var cacheTokens: [Int32] {
        switch self {
        case let .tokens(t): t
        case let .embeddings(_, rows): [Int32](repeating: -1, count: rows)
        }
    }
}
