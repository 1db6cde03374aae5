import Synchronization

/// Counters and latency histograms for `/metrics` (Prometheus text format 0.0.4).
public final class CoordinatorMetrics: Sendable {
    /// Upper bounds (seconds) of the latency buckets.
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    private struct State {
        var counters: [String: Int64] = [:]
        var histograms: [String: (counts: [Int64], sum: Double, total: Int64)] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Adds `amount` to counter `name` (a Prometheus name with optional labels).
    public func increment(_ name: String, by amount: Int64 = 1) {
        state.withLock { $0.counters[name, default: 0] += amount }
    }

    /// Records one call of gRPC method `method` that took `seconds`.
    public func observe(method: String, seconds: Double) {
        state.withLock { state in
            var entry = state.histograms[method] ?? (Array(repeating: 0, count: Self.buckets.count), 0, 0)
            for (index, bound) in Self.buckets.enumerated() where seconds <= bound { entry.counts[index] += 1 }
            entry.sum += seconds
            entry.total += 1
            state.histograms[method] = entry
        }
    }

    /// The current value of counter `name` (0 when never incremented).
    public func value(_ name: String) -> Int64 {
        state.withLock { $0.counters[name] ?? 0 }
    }

    /// Prometheus exposition text.
    public func render() -> String {
        let snapshot = state.withLock { $0 }
        var lines: [String] = []
        var typed = Set<String>()
        for (name, value) in snapshot.counters.sorted(by: { $0.key < $1.key }) {
            let base = String(name.prefix { $0 != "{" })
            if typed.insert(base).inserted { lines.append("# TYPE \(base) counter") }
            lines.append("\(name) \(value)")
        }
        if !snapshot.histograms.isEmpty {
            lines.append("# TYPE edgevlm_grpc_handling_seconds histogram")
        }
        for (method, entry) in snapshot.histograms.sorted(by: { $0.key < $1.key }) {
            for (index, bound) in Self.buckets.enumerated() {
                lines.append("edgevlm_grpc_handling_seconds_bucket{method=\"\(method)\",le=\"\(bound)\"} \(entry.counts[index])")
            }
            lines.append("edgevlm_grpc_handling_seconds_bucket{method=\"\(method)\",le=\"+Inf\"} \(entry.total)")
            lines.append("edgevlm_grpc_handling_seconds_sum{method=\"\(method)\"} \(entry.sum)")
            lines.append("edgevlm_grpc_handling_seconds_count{method=\"\(method)\"} \(entry.total)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
