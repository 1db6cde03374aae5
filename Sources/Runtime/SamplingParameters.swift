/// How the next token is chosen from the logits.
///
/// `temperature <= 0` means greedy (arg-max, first index on ties, as llama.cpp's greedy sampler).
/// Otherwise the chain runs in llama.cpp's order: repetition penalty → top-k → top-p → min-p →
/// temperature → draw from the seeded generator. The `sampled` defaults are MiniCPM-V's reference
/// settings (top_p 0.8, top_k 100, temperature 0.7, repetition penalty 1.05; `minicpmv-spec.md` §5.2).
public struct SamplingParameters: Sendable, Equatable {
    /// Softmax temperature; `<= 0` selects greedy decoding.
    public var temperature: Float
    /// Keep the `topK` most likely tokens (`<= 0` disables).
    public var topK: Int
    /// Keep the smallest set whose probability mass reaches `topP` (`>= 1` disables).
    public var topP: Float
    /// Drop tokens whose probability is below `minP` times the best one (`<= 0` disables).
    public var minP: Float
    /// Divides positive logits and multiplies negative ones of recently seen tokens (1 disables).
    public var repetitionPenalty: Float
    /// How many of the most recent tokens (prompt included) the penalty looks at (llama.cpp's `penalty_last_n`).
    public var repetitionWindow: Int
    /// Seed of the random generator (same seed, same logits → same tokens).
    public var seed: UInt64

    /// Memberwise with greedy defaults.
    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, minP: Float = 0,
                repetitionPenalty: Float = 1, repetitionWindow: Int = 64, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.repetitionWindow = repetitionWindow
        self.seed = seed
    }

    /// Greedy decoding (the parity mode: identical tokens to llama.cpp's greedy sampler).
    public static let greedy = SamplingParameters()

    /// MiniCPM-V's reference sampling settings with the given seed.
    public static func sampled(seed: UInt64 = 0) -> SamplingParameters {
        SamplingParameters(temperature: 0.7, topK: 100, topP: 0.8, minP: 0, repetitionPenalty: 1.05,
                           repetitionWindow: 64, seed: seed)
    }

    /// Whether this selects greedy decoding.
    public var isGreedy: Bool { temperature <= 0 }
}
