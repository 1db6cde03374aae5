/// What to generate and when to stop.
public struct GenerationOptions: Sendable, Equatable {
    /// Upper bound on generated tokens (a stop token counts).
    public var maxTokens: Int
    /// How tokens are chosen.
    public var sampling: SamplingParameters
    /// Extra token ids that end generation (the vocabulary's end-of-generation set is always used).
    public var stopTokens: Set<Int32>
    /// Strings that end generation; the text is cut before the first occurrence.
    public var stopStrings: [String]
    /// Reuse KV entries of a previous request sharing a token prefix.
    public var reusePrefix: Bool

    public init(maxTokens: Int = 128, sampling: SamplingParameters = .greedy, stopTokens: Set<Int32> = [],
                stopStrings: [String] = [], reusePrefix: Bool = true) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopTokens = stopTokens
        self.stopStrings = stopStrings
        self.reusePrefix = reusePrefix
    }
}

/// Why generation ended.
public enum StopReason: String, Sendable, Codable {
    /// An end-of-generation token (EOS/EOT/`<|im_end|>`...) or a requested stop token.
    case stopToken
    /// A stop string appeared in the text.
    case stopString
    /// `maxTokens` were generated.
    case maxTokens
    /// The context window filled up.
    case contextFull
    /// The token callback asked to stop.
    case cancelled
}

/// One streamed piece of output.
public struct GeneratedToken: Sendable {
    /// The token id.
    public let token: Int32
    /// Text completed by this token: whole UTF-8 characters only (may be empty while a multi-byte
    /// character is still incomplete, or for control tokens).
    public let text: String
}

/// The outcome of one request.
public struct GenerationResult: Sendable {
    /// Generated token ids (a final stop token included).
    public let tokens: [Int32]
    /// Generated text, cut before a stop string, without control-token text.
    public let text: String
    public let stopReason: StopReason
    public let timings: GenerationTimings
}
