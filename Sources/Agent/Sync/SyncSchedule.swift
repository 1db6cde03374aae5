/// How long the sync service waits between sessions: backoff with full jitter after transient
/// failures, `refused_retry_seconds` after a refusal, and nothing after a clean stop.
struct SyncSchedule: Sendable {
    var backoff: SyncBackoff
    let refusedRetrySeconds: Double
    /// The heartbeat interval in force (the coordinator's once known).
    var pollIntervalSeconds: Double

    init(sync: AgentConfiguration.Sync) {
        backoff = SyncBackoff(baseSeconds: sync.backoffBaseSeconds, maxSeconds: sync.backoffMaxSeconds)
        refusedRetrySeconds = sync.refusedRetrySeconds
        pollIntervalSeconds = sync.pollIntervalSeconds
    }

    /// A round succeeded: the next failure starts the backoff from the base again.
    mutating func succeeded() { backoff.reset() }

    /// Seconds to wait before the next session.
    mutating func delay(after outcome: SyncSessionOutcome) -> Double {
        switch outcome {
        case .stopped: return 0
        case .transient: return backoff.nextDelay()
        case .refused:
            backoff.reset()
            return refusedRetrySeconds
        }
    }
}
