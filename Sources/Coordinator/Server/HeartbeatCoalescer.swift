import Synchronization

/// Group commit for heartbeats. A heartbeat that arrives while `writers` statements are already
/// running waits, and goes with every other waiting one in the next statement: under load one
/// UPDATE stores many devices' heartbeats, at low load a heartbeat is written at once (there is
/// no timer to wait for). A caller is answered only after the statement holding its heartbeat
/// has completed, so an answer never claims a status is stored that is not; when the statement
/// fails, every caller in it gets the error.
final class HeartbeatCoalescer: Sendable {
    private struct Pending: Sendable {
        let write: HeartbeatWrite
        let continuation: CheckedContinuation<DeviceAssignment?, any Error>
    }

    private struct State: Sendable {
        var pending: [Pending] = []
        var writers = 0
    }

    private let state = Mutex(State())
    private let store: any CoordinatorStore
    private let maxWriters: Int
    private let maxBatch: Int
    private let metrics: CoordinatorMetrics

    /// `writers`: statements run at once (1 suits SQLite's single connection; a PostgreSQL pool
    /// overlaps round trips with more); `maxBatch`: heartbeats per statement at most. Counts
    /// statements in `edgevlm_heartbeat_statements_total` (heartbeats per statement = batching).
    init(store: any CoordinatorStore, writers: Int, maxBatch: Int, metrics: CoordinatorMetrics) {
        self.store = store
        self.metrics = metrics
        self.maxWriters = max(1, writers)
        self.maxBatch = max(1, maxBatch)
    }

    /// Stores `write` with the next statement; the device's assignment, or nil when the device is
    /// unknown, revoked or the credential hash does not match (nothing stored then). Throws what
    /// the store throws.
    func record(_ write: HeartbeatWrite) async throws -> DeviceAssignment? {
        try await withCheckedThrowingContinuation { continuation in
            let startWriter = state.withLock { state -> Bool in
                state.pending.append(Pending(write: write, continuation: continuation))
                guard state.writers < maxWriters else { return false }
                state.writers += 1
                return true
            }
            if startWriter {
                Task { await self.drain() }
            }
        }
    }

    /// Writes batches until nothing waits, then retires this writer.
    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Pending] in
                // A device at most once per statement; a second heartbeat of it waits for the next.
                var seen = Set<String>()
                var taken: [Pending] = []
                var rest: [Pending] = []
                for pending in state.pending {
                    if taken.count < maxBatch, seen.insert(pending.write.deviceID).inserted {
                        taken.append(pending)
                    } else {
                        rest.append(pending)
                    }
                }
                state.pending = rest
                if taken.isEmpty { state.writers -= 1 }
                return taken
            }
            if batch.isEmpty { return }
            metrics.increment("edgevlm_heartbeat_statements_total")
            do {
                let assignments = try await store.recordHeartbeats(batch.map(\.write))
                for (pending, assignment) in zip(batch, assignments) {
                    pending.continuation.resume(returning: assignment)
                }
            } catch {
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
    }
}
