/// Retry timing and the dead-letter threshold.
public struct JobRetryPolicy: Sendable, Equatable {
    /// Attempts (claims) after which a failing job is dead-lettered.
    public var maxAttempts: Int
    /// Delay before the second attempt, in seconds; doubles each further attempt.
    public var baseDelaySeconds: Double
    /// Upper bound of the delay before jitter.
    public var maxDelaySeconds: Double
    /// Fraction of the delay added at random (0.2 → up to +20 %), so many failing jobs do not
    /// retry in lock step.
    public var jitterFraction: Double

    public init(maxAttempts: Int = 5, baseDelaySeconds: Double = 2, maxDelaySeconds: Double = 600,
                jitterFraction: Double = 0.2) {
        self.maxAttempts = maxAttempts
        self.baseDelaySeconds = baseDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
        self.jitterFraction = jitterFraction
    }

    /// Delay before the next attempt after `attempts` failed attempts (attempts ≥ 1), with
    /// `unitRandom` in [0, 1) choosing the jitter.
    public func delaySeconds(afterAttempts attempts: Int, unitRandom: Double) -> Double {
        let exponent = Double(max(0, attempts - 1))
        let raw = min(maxDelaySeconds, baseDelaySeconds * pow2(exponent))
        return raw * (1 + jitterFraction * min(max(unitRandom, 0), 1))
    }

    private func pow2(_ exponent: Double) -> Double {
        // Capped so huge attempt counts cannot overflow to infinity before the min().
        var value = 1.0
        for _ in 0..<Int(min(exponent, 60)) { value *= 2 }
        return value
    }
}
