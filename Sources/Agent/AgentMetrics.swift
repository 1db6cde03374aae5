import Foundation

/// Counters and a latency histogram for `GET /metrics`, plus the worker's liveness for the
/// systemd watchdog. Thread-safe.
public final class AgentMetrics: @unchecked Sendable {
    // @unchecked: every field is read and written under `lock`.
    private let lock = NSLock()
    /// Upper bounds (seconds) of the inference-time histogram buckets.
    public static let inferenceBuckets: [Double] = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300]
    private var bucketCounts = [Int](repeating: 0, count: AgentMetrics.inferenceBuckets.count)
    private var inferenceSum = 0.0
    private var inferenceCount = 0
    private var jobsByOutcome: [String: Int] = ["done": 0, "failed": 0, "retried": 0, "dead": 0]
    private var tokensTotal = 0
    private var lastTokensPerSecond = 0.0
    private var fallbacks = 0
    private var capturesFailed: [String: Int] = [:]
    private var capturesTaken: [String: Int] = [:]
    private var lastCaptureError: [String: String] = [:]
    private var livenessNanoseconds: UInt64 = DispatchTime.now().uptimeNanoseconds

    public init() {}

    /// Records one inference.
    public func recordInference(seconds: Double, tokens: Int, fallbacks: Int) {
        lock.withLock {
            inferenceSum += seconds
            inferenceCount += 1
            for (i, bound) in Self.inferenceBuckets.enumerated() where seconds <= bound { bucketCounts[i] += 1 }
            tokensTotal += tokens
            if seconds > 0 { lastTokensPerSecond = Double(tokens) / seconds }
            self.fallbacks += fallbacks
        }
    }

    /// Counts a job outcome: "done", "failed", "retried" or "dead".
    public func recordOutcome(_ outcome: String) { lock.withLock { jobsByOutcome[outcome, default: 0] += 1 } }

    /// Records a capture attempt of `source`; `error` nil means success.
    public func recordCapture(source: String, error: String?) {
        lock.withLock {
            if let error {
                capturesFailed[source, default: 0] += 1
                lastCaptureError[source] = error
            } else {
                capturesTaken[source, default: 0] += 1
                lastCaptureError[source] = nil
            }
        }
    }

    /// The last capture error of `source`, nil after a success.
    public func lastCaptureError(source: String) -> String? { lock.withLock { lastCaptureError[source] } }

    /// Marks the worker alive now (called each loop turn and each lease heartbeat).
    public func touchLiveness() { lock.withLock { livenessNanoseconds = DispatchTime.now().uptimeNanoseconds } }

    /// Seconds since the worker last showed progress.
    public var secondsSinceLiveness: Double {
        lock.withLock { Double(DispatchTime.now().uptimeNanoseconds &- livenessNanoseconds) / 1e9 }
    }

    /// Prometheus text exposition (format 0.0.4) of everything above plus `queue` and `diskFreeBytes`.
    public func prometheusText(queueDepth: [String: Int], diskFreeBytes: Int64?) -> String {
        lock.withLock {
            var out = ""
            out += "# HELP edgevlm_queue_jobs Jobs in the queue by state.\n# TYPE edgevlm_queue_jobs gauge\n"
            for (state, count) in queueDepth.sorted(by: { $0.key < $1.key }) {
                out += "edgevlm_queue_jobs{state=\"\(state)\"} \(count)\n"
            }
            out += "# HELP edgevlm_jobs_total Job attempts finished by this process, by outcome.\n# TYPE edgevlm_jobs_total counter\n"
            for (outcome, count) in jobsByOutcome.sorted(by: { $0.key < $1.key }) {
                out += "edgevlm_jobs_total{outcome=\"\(outcome)\"} \(count)\n"
            }
            out += "# HELP edgevlm_inference_seconds Time per caption.\n# TYPE edgevlm_inference_seconds histogram\n"
            for (i, bound) in Self.inferenceBuckets.enumerated() {
                out += "edgevlm_inference_seconds_bucket{le=\"\(bound)\"} \(bucketCounts[i])\n"
            }
            out += "edgevlm_inference_seconds_bucket{le=\"+Inf\"} \(inferenceCount)\n"
            out += "edgevlm_inference_seconds_sum \(inferenceSum)\nedgevlm_inference_seconds_count \(inferenceCount)\n"
            out += "# HELP edgevlm_generated_tokens_total Tokens generated.\n# TYPE edgevlm_generated_tokens_total counter\n"
            out += "edgevlm_generated_tokens_total \(tokensTotal)\n"
            out += "# HELP edgevlm_tokens_per_second Generation speed of the last job.\n# TYPE edgevlm_tokens_per_second gauge\n"
            out += "edgevlm_tokens_per_second \(lastTokensPerSecond)\n"
            out += "# HELP edgevlm_backend_fallbacks_total Stages an accelerator gave back to the CPU.\n# TYPE edgevlm_backend_fallbacks_total counter\n"
            out += "edgevlm_backend_fallbacks_total \(fallbacks)\n"
            out += "# HELP edgevlm_captures_total Camera captures by source and result.\n# TYPE edgevlm_captures_total counter\n"
            for source in Set(capturesTaken.keys).union(capturesFailed.keys).sorted() {
                out += "edgevlm_captures_total{source=\"\(source)\",result=\"ok\"} \(capturesTaken[source] ?? 0)\n"
                out += "edgevlm_captures_total{source=\"\(source)\",result=\"error\"} \(capturesFailed[source] ?? 0)\n"
            }
            if let diskFreeBytes {
                out += "# HELP edgevlm_disk_free_bytes Free bytes on the state directory's file system.\n# TYPE edgevlm_disk_free_bytes gauge\n"
                out += "edgevlm_disk_free_bytes \(diskFreeBytes)\n"
            }
            return out
        }
    }
}
