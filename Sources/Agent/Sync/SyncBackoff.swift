/// Exponential backoff with full jitter (the AWS architecture blog's "full jitter"): after the
/// n-th consecutive failure wait a uniformly random time in [0, min(max, base · 2ⁿ⁻¹)], so a
/// fleet that lost its coordinator does not come back in lockstep.
public struct SyncBackoff: Sendable, Equatable {
    public var baseSeconds: Double
    public var maxSeconds: Double
    /// Consecutive failures so far (0 after a success).
    public private(set) var failures: Int = 0

    public init(baseSeconds: Double, maxSeconds: Double) {
        self.baseSeconds = baseSeconds
        self.maxSeconds = max(maxSeconds, baseSeconds)
    }

    /// The upper bound of the next delay after `failures` consecutive failures.
    public static func ceiling(failures: Int, baseSeconds: Double, maxSeconds: Double) -> Double {
        guard failures > 0 else { return 0 }
        // 2^62 already exceeds any sensible maximum; clamping the exponent keeps the math finite.
        let exponent = Double(min(failures - 1, 62))
        return min(maxSeconds, baseSeconds * pow2(exponent))
    }

    /// Records a failure and returns the delay to wait before the next attempt.
    public mutating func nextDelay<G: RandomNumberGenerator>(using generator: inout G) -> Double {
        failures += 1
        let ceiling = Self.ceiling(failures: failures, baseSeconds: baseSeconds, maxSeconds: maxSeconds)
        return Double.random(in: 0...ceiling, using: &generator)
    }

    /// Records a failure and returns the delay, using the system random generator.
    public mutating func nextDelay() -> Double {
        var generator = SystemRandomNumberGenerator()
        return nextDelay(using: &generator)
    }

    /// Forgets the failures (after a successful call).
    public mutating func reset() { failures = 0 }

    private static func pow2(_ exponent: Double) -> Double {
        var value = 1.0
        for _ in 0..<Int(exponent) { value *= 2 }
        return value
    }
}
