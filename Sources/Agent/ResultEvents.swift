import Foundation
import JobQueue

/// Fans out finished jobs to `GET /v1/events` subscribers. Thread-safe; slow subscribers lose
/// the oldest events beyond a small buffer rather than holding up the worker.
public final class ResultEvents: @unchecked Sendable {
    // @unchecked: `subscribers` is only touched under `lock`.
    private let lock = NSLock()
    private var subscribers: [UUID: AsyncStream<JobRecord>.Continuation] = [:]

    public init() {}

    /// A stream of jobs reaching a terminal state from now on.
    public func subscribe() -> AsyncStream<JobRecord> {
        let (stream, continuation) = AsyncStream.makeStream(of: JobRecord.self, bufferingPolicy: .bufferingNewest(64))
        let id = UUID()
        lock.withLock { subscribers[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.lock.withLock { self?.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    func publish(_ job: JobRecord) {
        let targets = lock.withLock { Array(subscribers.values) }
        for continuation in targets { continuation.yield(job) }
    }

    /// Ends every subscription (shutdown).
    func finishAll() {
        let targets = lock.withLock { Array(subscribers.values) }
        for continuation in targets { continuation.finish() }
    }
}
