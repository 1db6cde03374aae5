/// When a backend's run counts as failed and how long an unhealthy backend is bypassed.
public struct FallbackPolicy: Sendable, Codable, Equatable {
    /// A run longer than this counts as a failure (its output is discarded and recomputed on
    /// the CPU). The call itself is not interrupted: C code cannot be preempted safely.
    public var deadlineMilliseconds: Double
    /// After this many consecutive failures the backend is marked unhealthy.
    public var failureThreshold: Int
    /// How long an unhealthy backend is bypassed before it is tried again.
    public var coolDownMilliseconds: Double
    /// Whether F32 outputs are scanned for NaN/infinity after each accelerator run.
    public var checkFinite: Bool

    public init(deadlineMilliseconds: Double = 10_000, failureThreshold: Int = 3,
                coolDownMilliseconds: Double = 60_000, checkFinite: Bool = true) {
        self.deadlineMilliseconds = deadlineMilliseconds
        self.failureThreshold = max(1, failureThreshold)
        self.coolDownMilliseconds = coolDownMilliseconds
        self.checkFinite = checkFinite
    }
}
