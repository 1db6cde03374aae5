/// Where a job's image came from.
public enum JobKind: String, Sendable, Codable, CaseIterable {
    /// A file dropped into the inbox or submitted through the API.
    case file
    /// A frame captured from a camera source.
    case camera
}

/// A job's place in its life cycle. `done`, `failed` and `dead` are terminal.
public enum JobState: String, Sendable, Codable, CaseIterable {
    /// Waiting to be claimed (possibly not before a retry delay).
    case queued
    /// Claimed by a worker holding a lease.
    case running
    /// Finished with a result.
    case done
    /// Rejected for good without retry (bad input such as an image that does not decode).
    case failed
    /// Dead-lettered: it failed or crashed the worker `maxAttempts` times; `lastError` says why.
    case dead

    /// True for states a job never leaves.
    public var isTerminal: Bool { self == .done || self == .failed || self == .dead }
}

/// One row of the jobs table as callers see it.
public struct JobRecord: Sendable, Codable, Equatable {
    public var id: Int64
    public var kind: JobKind
    public var source: String
    public var prompt: String
    /// The image file the worker reads; nil once retention removed it.
    public var imagePath: String?
    public var priority: Int
    public var state: JobState
    /// Claims so far (an attempt is counted when it starts, so a crash mid-attempt counts).
    public var attempts: Int
    /// Wall-clock time (seconds since 1970) of the earliest next attempt, for display only.
    public var nextAttemptAt: Double
    public var leaseOwner: String?
    public var idempotencyKey: String
    public var lastError: String?
    public var createdAt: Double
    public var startedAt: Double?
    public var finishedAt: Double?
}

/// What a submitter asks the queue to run.
public struct JobSubmission: Sendable, Equatable {
    public var kind: JobKind
    public var source: String
    public var prompt: String
    public var imagePath: String
    /// Size of the image file in bytes (retention by total size counts it).
    public var imageBytes: Int64
    /// True when the queue may delete the image file during retention (files the agent stored).
    public var imageOwned: Bool
    public var priority: Int
    /// Deduplicates submissions: a second submission with the same key returns the first job.
    /// The agent derives it as SHA-256(image ‖ prompt ‖ model digest) unless the submitter gave one.
    public var idempotencyKey: String

    public init(kind: JobKind, source: String, prompt: String, imagePath: String, imageBytes: Int64,
                imageOwned: Bool, priority: Int = 0, idempotencyKey: String) {
        self.kind = kind
        self.source = source
        self.prompt = prompt
        self.imagePath = imagePath
        self.imageBytes = imageBytes
        self.imageOwned = imageOwned
        self.priority = priority
        self.idempotencyKey = idempotencyKey
    }
}

/// The outcome of `JobQueue.enqueue`.
public enum JobEnqueueOutcome: Sendable, Equatable {
    /// A new job was created.
    case created(JobRecord)
    /// A job with the same idempotency key already existed; it is returned unchanged.
    case duplicate(JobRecord)

    /// The job, new or existing.
    public var job: JobRecord {
        switch self {
        case .created(let job), .duplicate(let job): return job
        }
    }
}

/// A worker's claim on a running job. Valid until it expires on the monotonic clock, or the job
/// is completed, failed or requeued through it.
public struct JobLease: Sendable, Equatable {
    public var job: JobRecord
    /// The worker identity that holds the lease.
    public var owner: String
    /// Unique per claim, so a stale lease can never act on a later claim of the same job.
    public var token: String
}

/// What inference produced for a job.
public struct JobResult: Sendable, Codable, Equatable {
    public var text: String
    /// Generated tokens.
    public var tokens: Int
    /// Named durations in seconds (e.g. "decode_image", "prefill", "generate", "total").
    public var timings: [String: Double]
    /// Digest of the model pair that produced the text.
    public var modelDigest: String
    /// SHA-256 of the image bytes.
    public var imageDigest: String
    /// Which backends ran which stages (e.g. "vision=cpu llm=cpu"), and any fallbacks.
    public var placement: String

    public init(text: String, tokens: Int, timings: [String: Double], modelDigest: String,
                imageDigest: String, placement: String) {
        self.text = text
        self.tokens = tokens
        self.timings = timings
        self.modelDigest = modelDigest
        self.imageDigest = imageDigest
        self.placement = placement
    }
}

/// A stored result together with its job.
public struct JobResultRecord: Sendable, Codable, Equatable {
    public var job: JobRecord
    public var result: JobResult
    public var createdAt: Double
}

/// One entry of the results outbox, in the order a sync client must send them.
public struct JobOutboxEntry: Sendable, Codable, Equatable {
    /// Device-made sequence number, strictly increasing, never reused.
    public var sequence: Int64
    /// Globally unique id of this entry: "<device id>-<sequence>"; the coordinator ingests by it.
    public var deviceSequenceID: String
    /// The terminal state the job reached.
    public var event: JobState
    public var job: JobRecord
    /// Present when `event == .done`.
    public var result: JobResult?
    public var createdAt: Double
}

/// Counts of jobs by state.
public struct JobStateCounts: Sendable, Codable, Equatable {
    public var counts: [JobState: Int]
    public subscript(state: JobState) -> Int { counts[state] ?? 0 }
}
