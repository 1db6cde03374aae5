/// How long a generation took, split like llama.cpp's timings.
public struct GenerationTimings: Sendable, Equatable, Codable {
    /// Prompt tokens actually computed (tokens reused from the cache are not counted).
    public var promptTokens: Int
    /// Prompt tokens served from the KV cache (shared prefix of an earlier request).
    public var reusedPromptTokens: Int
    /// Seconds spent on the prompt forward pass.
    public var promptSeconds: Double
    /// Tokens generated (sampled), including a final stop token.
    public var generatedTokens: Int
    /// Seconds spent on decode steps (forward passes of generated tokens and sampling).
    public var generateSeconds: Double
    /// Seconds from the request to the first generated token.
    public var timeToFirstToken: Double

    public init(promptTokens: Int = 0, reusedPromptTokens: Int = 0, promptSeconds: Double = 0,
                generatedTokens: Int = 0, generateSeconds: Double = 0, timeToFirstToken: Double = 0) {
        self.promptTokens = promptTokens
        self.reusedPromptTokens = reusedPromptTokens
        self.promptSeconds = promptSeconds
        self.generatedTokens = generatedTokens
        self.generateSeconds = generateSeconds
        self.timeToFirstToken = timeToFirstToken
    }

    /// Prompt tokens per second (0 when nothing was computed).
    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens) / promptSeconds : 0 }
    /// Generated tokens per second over the decode steps (the first token comes from the prompt pass).
    public var generatedTokensPerSecond: Double {
        generateSeconds > 0 ? Double(max(0, generatedTokens - 1)) / generateSeconds : 0
    }
}
