/// How a `JobQueue` opens its database and treats failures.
public struct JobQueueConfiguration: Sendable, Equatable {
    /// How long a statement waits for another connection's lock before failing with `.busy`.
    public var busyTimeoutMilliseconds: Int32
    public var retry: JobRetryPolicy
    /// Enqueue refuses new jobs (`.queueFull`) while this many are queued or running, so a
    /// stuck worker cannot let the queue grow without bound. 0 = no limit.
    public var maxPendingJobs: Int

    public init(busyTimeoutMilliseconds: Int32 = 5_000, retry: JobRetryPolicy = JobRetryPolicy(),
                maxPendingJobs: Int = 10_000) {
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.retry = retry
        self.maxPendingJobs = maxPendingJobs
    }
}

/// What `JobQueue.prune` removed.
public struct JobPruneReport: Sendable, Equatable {
    /// Terminal jobs deleted with their results and outbox entries.
    public var deletedJobs: Int
    /// Image files deleted (of deleted jobs, and of kept jobs to respect the size budget).
    public var deletedImages: Int
    /// Bytes of image files deleted.
    public var freedImageBytes: Int64
}
