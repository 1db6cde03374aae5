/// Run-time counters of one backend, as exposed to the agent (health signals for rollouts).
public struct BackendHealth: Sendable, Codable, Equatable {
    public var backend: String
    /// Runs attempted on this backend.
    public var runs: Int = 0
    /// Runs that succeeded and whose output was kept.
    public var successes: Int = 0
    /// Runs that returned an error.
    public var errors: Int = 0
    /// Runs over the deadline.
    public var timeouts: Int = 0
    /// Runs that wrote NaN or infinity.
    public var nonFinite: Int = 0
    /// Ops recomputed on the CPU after a failure here.
    public var fallbacks: Int = 0
    /// Ops sent straight to the CPU because this backend was unhealthy.
    public var bypassed: Int = 0
    /// Failures since the last success.
    public var consecutiveFailures: Int = 0
    /// Times this backend was marked unhealthy.
    public var timesMarkedUnhealthy: Int = 0
    /// True while the backend is bypassed (in its cool-down).
    public var unhealthy: Bool = false
    /// Clock time (ns) at which the cool-down ends, when unhealthy.
    public var unhealthyUntilNanoseconds: UInt64?
    /// The last failure's message.
    public var lastError: String?

    public init(backend: String) {
        self.backend = backend
    }

    /// Total failed runs.
    public var failures: Int { errors + timeouts + nonFinite }
}
