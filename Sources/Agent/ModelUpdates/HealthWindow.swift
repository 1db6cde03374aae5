import Foundation

/// Watches the first jobs after a model switch (issue 9 item 5): when, after at least
/// `minJobs` jobs, the share of failed jobs or of jobs with backend fallbacks passes its
/// threshold, the new model is judged unhealthy and the agent switches back. The window closes
/// (healthy) after `jobs` jobs or `seconds` seconds.
public struct HealthWindow: Sendable, Equatable, Codable {
    public var jobs: Int
    public var seconds: Double
    public var minJobs: Int
    public var maxFailureRate: Double
    public var maxFallbackRate: Double

    public private(set) var seen = 0
    public private(set) var failures = 0
    public private(set) var withFallbacks = 0
    public let openedAt: Date

    public init(jobs: Int = 20, seconds: Double = 3600, minJobs: Int = 5, maxFailureRate: Double = 0.2,
                maxFallbackRate: Double = 0.5, openedAt: Date = Date()) {
        self.jobs = jobs
        self.seconds = seconds
        self.minJobs = minJobs
        self.maxFailureRate = maxFailureRate
        self.maxFallbackRate = maxFallbackRate
        self.openedAt = openedAt
    }

    /// The verdict after a job.
    public enum Verdict: Sendable, Equatable {
        case watching
        case healthy
        case unhealthy(String)
    }

    /// Records one job of the new model and returns the verdict.
    public mutating func record(failed: Bool, fallbacks: Int, now: Date = Date()) -> Verdict {
        seen += 1
        if failed { failures += 1 }
        if fallbacks > 0 { withFallbacks += 1 }
        if seen >= minJobs {
            let failureRate = Double(failures) / Double(seen)
            if failureRate > maxFailureRate {
                return .unhealthy(String(format: "%d of %d jobs failed after the switch (%.0f %%, limit %.0f %%)",
                                         failures, seen, failureRate * 100, maxFailureRate * 100))
            }
            let fallbackRate = Double(withFallbacks) / Double(seen)
            if fallbackRate > maxFallbackRate {
                return .unhealthy(String(format: "%d of %d jobs fell back from their accelerator after the switch (%.0f %%, limit %.0f %%)",
                                         withFallbacks, seen, fallbackRate * 100, maxFallbackRate * 100))
            }
        }
        if seen >= jobs || now.timeIntervalSince(openedAt) >= seconds { return .healthy }
        return .watching
    }
}
