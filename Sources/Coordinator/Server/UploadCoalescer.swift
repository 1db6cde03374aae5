import FleetProtocol
import Synchronization

/// Group commit for result uploads, like `HeartbeatCoalescer`: uploads that arrive while
/// `writers` batches are being stored wait and go together in the next batch — one read of
/// the devices' credentials and one INSERT per 500 results for all of them. A caller is
/// answered only after the INSERT holding its results completed; when a statement fails,
/// every caller in the batch gets the error (results of earlier chunks may be stored; a retry
/// is safe because ingest is idempotent).
final class UploadCoalescer: Sendable {
    private struct Pending: Sendable {
        let upload: ResultUpload
        let credentialHash: String
        let continuation: CheckedContinuation<IngestOutcome?, any Error>
    }

    private struct State: Sendable {
        var pending: [Pending] = []
        var writers = 0
    }

    private let state = Mutex(State())
    private let store: any CoordinatorStore
    private let maxWriters: Int
    private let maxResults: Int
    private let metrics: CoordinatorMetrics

    /// `writers`: batches stored at once; `maxResults`: results per batch at most (a larger
    /// single upload goes alone). Counts batches in `edgevlm_upload_batches_total`.
    init(store: any CoordinatorStore, writers: Int, maxResults: Int, metrics: CoordinatorMetrics) {
        self.store = store
        self.maxWriters = max(1, writers)
        self.maxResults = max(1, maxResults)
        self.metrics = metrics
    }

    /// Stores `upload` with the next batch when device `upload.deviceID` has credential hash
    /// `credentialHash` and is not revoked; nil (nothing stored) otherwise. Throws what the
    /// store throws.
    func ingest(_ upload: ResultUpload, credentialHash: String) async throws -> IngestOutcome? {
        try await withCheckedThrowingContinuation { continuation in
            let startWriter = state.withLock { state -> Bool in
                state.pending.append(Pending(upload: upload, credentialHash: credentialHash, continuation: continuation))
                guard state.writers < maxWriters else { return false }
                state.writers += 1
                return true
            }
            if startWriter {
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Pending] in
                // A device at most once per batch (its outcome is counted by device id).
                var seen = Set<String>()
                var taken: [Pending] = []
                var rest: [Pending] = []
                var results = 0
                for pending in state.pending {
                    let count = pending.upload.results.count
                    if (taken.isEmpty || results + count <= maxResults), seen.insert(pending.upload.deviceID).inserted {
                        taken.append(pending)
                        results += count
                    } else {
                        rest.append(pending)
                    }
                }
                state.pending = rest
                if taken.isEmpty { state.writers -= 1 }
                return taken
            }
            if batch.isEmpty { return }
            metrics.increment("edgevlm_upload_batches_total")
            do {
                let access = try await store.deviceAccess(ids: batch.map(\.upload.deviceID))
                var accepted: [Pending] = []
                for pending in batch {
                    if let device = access[pending.upload.deviceID], !device.isRevoked,
                       Secrets.constantTimeEqual(device.credentialHash, pending.credentialHash) {
                        accepted.append(pending)
                    } else {
                        pending.continuation.resume(returning: nil)
                    }
                }
                do {
                    let outcomes = accepted.isEmpty ? [] : try await store.ingest(accepted.map(\.upload))
                    for (pending, outcome) in zip(accepted, outcomes) { pending.continuation.resume(returning: outcome) }
                } catch {
                    for pending in accepted { pending.continuation.resume(throwing: error) }
                }
            } catch {
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
    }
}
