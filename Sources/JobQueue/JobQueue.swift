import Foundation

/// The durable job queue: one SQLite file in WAL mode with `synchronous=FULL`, so a job whose
/// enqueue returned survives kill -9 and power loss, and a result whose `complete` returned is
/// never lost or duplicated.
///
/// Delivery is at-least-once per attempt: a worker claims a job with a lease (monotonic clock +
/// boot id); a lease that expires, or every lease of an earlier process at start-up, returns the
/// job to the queue (or to dead-letter once `maxAttempts` claims are used). Results are keyed by
/// job, so a re-run can never store a second result.
///
/// Thread-safe: every call is serialized on one connection. Calls block on disk I/O (fsync);
/// async callers should run them off the cooperative thread pool.
public final class JobQueue: @unchecked Sendable {
    // @unchecked: all mutable state (the connection and its statement cache) is only touched
    // while holding `lock`.
    private let lock = NSLock()
    private let connection: SQLiteConnection
    private var isClosed = false
    public let configuration: JobQueueConfiguration
    public let clock: any JobQueueClock
    /// Stable id of this database (made at creation); prefixes outbox sequence ids.
    public let deviceID: String
    /// The database file.
    public var path: String { connection.path }

    /// Opens or creates the queue at `path`, migrating older schemas.
    /// Throws `.notADatabase` (file left untouched), `.schemaTooNew`, `.diskFull`, or SQLite errors.
    public init(path: String, configuration: JobQueueConfiguration = JobQueueConfiguration(),
                clock: any JobQueueClock = SystemJobQueueClock()) throws {
        self.configuration = configuration
        self.clock = clock
        let connection = try SQLiteConnection(path: path,
                                              busyTimeoutMilliseconds: configuration.busyTimeoutMilliseconds)
        self.connection = connection
        // A read first: SQLite reports a foreign file here, before anything could be written.
        let tableCount = try connection.queryFirst("SELECT count(*) FROM sqlite_master") { $0.int64(0) } ?? 0
        let version = Int(try connection.queryFirst("PRAGMA user_version") { $0.int64(0) } ?? 0)
        guard version <= JobQueueSchema.currentVersion else {
            throw JobQueueError(.schemaTooNew,
                                "database schema version \(version) is newer than this build supports (\(JobQueueSchema.currentVersion)); upgrade edgevlm",
                                path: path)
        }
        if tableCount == 0 && version == 0 {
            // Only possible before the first table exists; lets retention give pages back.
            try connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
        }
        if path != ":memory:" {
            let mode = try connection.pragma("journal_mode = WAL")
            guard mode?.lowercased() == "wal" else {
                throw JobQueueError(.io, "could not switch the database to WAL mode (got \(mode ?? "nothing"))", path: path)
            }
        }
        try connection.execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON")
        try Self.migrate(connection, from: version)
        try connection.run("INSERT OR IGNORE INTO meta(key, value) VALUES ('device_id', ?)", [UUID().uuidString.lowercased()])
        deviceID = try connection.queryFirst("SELECT value FROM meta WHERE key = 'device_id'") { $0.text(0) ?? "" } ?? ""
    }

    deinit { if !isClosed { connection.close() } }

    /// Schema version of the open database (equal to the newest after `init`).
    public static var schemaVersion: Int { JobQueueSchema.currentVersion }

    static func migrate(_ connection: SQLiteConnection, from version: Int) throws {
        guard version < JobQueueSchema.currentVersion else { return }
        for next in version..<JobQueueSchema.currentVersion {
            try connection.transaction {
                try connection.execute(JobQueueSchema.migrations[next])
                try connection.execute("PRAGMA user_version = \(next + 1)")
            }
        }
    }

    /// Closes the database (checkpointing the WAL). Further calls throw `.io`.
    public func close() {
        lock.withLock {
            guard !isClosed else { return }
            isClosed = true
            connection.close()
        }
    }

    private func locked<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try lock.withLock {
            guard !isClosed else { throw JobQueueError(.io, "the queue is closed", path: connection.path) }
            return try body(connection)
        }
    }

    // MARK: rows

    static let jobColumns = """
    id, kind, source, prompt, image_path, priority, state, attempts, next_attempt_at, lease_owner,
    idempotency_key, last_error, created_at, started_at, finished_at
    """

    static func jobRow(_ s: SQLiteStatement, offset: Int32 = 0) throws -> JobRecord {
        guard let kind = JobKind(rawValue: s.text(offset + 1) ?? ""),
              let state = JobState(rawValue: s.text(offset + 6) ?? "") else {
            throw JobQueueError(.corrupt, "job row has an unknown kind or state", jobID: s.int64(offset))
        }
        return JobRecord(
            id: s.int64(offset), kind: kind, source: s.text(offset + 2) ?? "", prompt: s.text(offset + 3) ?? "",
            imagePath: s.text(offset + 4), priority: Int(s.int64(offset + 5)), state: state,
            attempts: Int(s.int64(offset + 7)), nextAttemptAt: s.double(offset + 8), leaseOwner: s.text(offset + 9),
            idempotencyKey: s.text(offset + 10) ?? "", lastError: s.text(offset + 11), createdAt: s.double(offset + 12),
            startedAt: s.isNull(offset + 13) ? nil : s.double(offset + 13),
            finishedAt: s.isNull(offset + 14) ? nil : s.double(offset + 14))
    }

    private func fetchJob(_ db: SQLiteConnection, id: Int64) throws -> JobRecord {
        guard let job = try db.queryFirst("SELECT \(Self.jobColumns) FROM jobs WHERE id = ?", [id], row: { try Self.jobRow($0) }) else {
            throw JobQueueError(.jobNotFound, "no such job", path: db.path, jobID: id)
        }
        return job
    }

    private var monotonicNow: Int64 { Int64(bitPattern: clock.monotonicNanoseconds()) }

    // MARK: enqueue

    /// Adds a job, or returns the existing one with the same idempotency key.
    /// Throws `.invalidArgument` (empty prompt/source), `.queueFull`, `.diskFull` (nothing written).
    public func enqueue(_ submission: JobSubmission) throws -> JobEnqueueOutcome {
        try locked { db in try db.transaction { try insert(db, submission, state: .queued, error: nil) } }
    }

    /// Enqueues a periodic capture so that at most one capture per source waits: queued jobs of
    /// the same source and kind are deleted (latest wins) in the same transaction. Returns the
    /// outcome and the superseded jobs; their owned image files are deleted after the commit.
    public func enqueueLatest(_ submission: JobSubmission) throws -> (JobEnqueueOutcome, superseded: [JobRecord]) {
        let (outcome, superseded, files) = try locked { db in
            try db.transaction { () throws -> (JobEnqueueOutcome, [JobRecord], [String]) in
                let old = try db.query("""
                    SELECT \(Self.jobColumns), image_owned FROM jobs
                    WHERE source = ? AND kind = ? AND state = 'queued' AND idempotency_key != ?
                    """, [submission.source, submission.kind.rawValue, submission.idempotencyKey]) { s in
                    (try Self.jobRow(s), s.int64(15) != 0)
                }
                for (job, _) in old { try db.run("DELETE FROM jobs WHERE id = ?", [job.id]) }
                let outcome = try insert(db, submission, state: .queued, error: nil)
                return (outcome, old.map(\.0), old.compactMap { $0.1 ? $0.0.imagePath : nil })
            }
        }
        for file in files { try? FileManager.default.removeItem(atPath: file) }
        return (outcome, superseded)
    }

    /// Records a submission that was refused before it could run (too large, unreadable) as a
    /// terminal `failed` job with `error`, so every input has exactly one outcome on record.
    /// Idempotent like `enqueue`.
    public func recordRejected(_ submission: JobSubmission, error: String) throws -> JobEnqueueOutcome {
        try locked { db in try db.transaction { try insert(db, submission, state: .failed, error: error) } }
    }

    private func insert(_ db: SQLiteConnection, _ s: JobSubmission, state: JobState, error: String?) throws -> JobEnqueueOutcome {
        guard !s.prompt.isEmpty, !s.source.isEmpty, !s.idempotencyKey.isEmpty else {
            throw JobQueueError(.invalidArgument, "a job needs a non-empty source, prompt and idempotency key", path: db.path)
        }
        if let existing = try db.queryFirst("SELECT \(Self.jobColumns) FROM jobs WHERE idempotency_key = ?",
                                            [s.idempotencyKey], row: { try Self.jobRow($0) }) {
            return .duplicate(existing)
        }
        if state == .queued && configuration.maxPendingJobs > 0 {
            let pending = try db.queryFirst("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')") { $0.int64(0) } ?? 0
            if pending >= configuration.maxPendingJobs {
                throw JobQueueError(.queueFull, "\(pending) jobs are waiting (limit \(configuration.maxPendingJobs)); try again later",
                                    path: db.path)
            }
        }
        let now = clock.wallSeconds()
        try db.run("""
            INSERT INTO jobs(kind, source, prompt, image_path, image_bytes, image_owned, priority, state,
                             attempts, next_attempt_at, idempotency_key, last_error, created_at, finished_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)
            """, [s.kind.rawValue, s.source, s.prompt, s.imagePath, s.imageBytes, s.imageOwned, s.priority,
                  state.rawValue, now, s.idempotencyKey, error, now, state.isTerminal ? now : nil])
        let id = db.lastInsertRowID
        if state.isTerminal {
            try db.run("INSERT INTO outbox(job_id, event, created_at) VALUES (?, ?, ?)", [id, state.rawValue, now])
        }
        return .created(try fetchJob(db, id: id))
    }

    // MARK: claim and lease

    /// Claims the most urgent runnable job (highest priority, then oldest) for `owner`, holding a
    /// lease of `leaseSeconds` on the monotonic clock; expired leases are reclaimed first.
    /// Returns nil when nothing is runnable. Throws SQLite errors.
    public func claim(owner: String, leaseSeconds: Double) throws -> JobLease? {
        try locked { db in
            try db.transaction { () throws -> JobLease? in
                try reclaimExpired(db)
                let now = monotonicNow
                guard let job = try db.queryFirst("""
                    SELECT \(Self.jobColumns) FROM jobs
                    WHERE state = 'queued'
                      AND (not_before_mono IS NULL OR not_before_boot_id IS NOT ? OR not_before_mono <= ?)
                    ORDER BY priority DESC, id LIMIT 1
                    """, [clock.bootID, now], row: { try Self.jobRow($0) }) else { return nil }
                let token = UUID().uuidString
                try db.run("""
                    UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, lease_token = ?,
                      lease_expires_mono = ?, lease_boot_id = ?, started_at = ?
                    WHERE id = ?
                    """, [owner, token, now + Self.nanoseconds(leaseSeconds), clock.bootID, clock.wallSeconds(), job.id])
                return JobLease(job: try fetchJob(db, id: job.id), owner: owner, token: token)
            }
        }
    }

    static func nanoseconds(_ seconds: Double) -> Int64 { Int64((max(0, seconds) * 1e9).rounded()) }

    /// The WHERE clause that matches a job still held by this lease (same claim token).
    private static let heldByLease = "id = ? AND state = 'running' AND lease_token = ?"

    private func requireHeld(_ db: SQLiteConnection, _ lease: JobLease) throws {
        let held = try db.queryFirst("SELECT 1 FROM jobs WHERE \(Self.heldByLease)",
                                     [lease.job.id, lease.token]) { _ in true } ?? false
        guard held else {
            throw JobQueueError(.leaseLost, "the lease is no longer held (it expired and the job was reclaimed, or it was already finished)",
                                path: db.path, jobID: lease.job.id)
        }
    }

    /// Extends the lease to `leaseSeconds` from now. Throws `.leaseLost` when it is no longer held.
    public func heartbeat(_ lease: JobLease, leaseSeconds: Double) throws {
        try locked { db in
            let changed = try db.run("UPDATE jobs SET lease_expires_mono = ?, lease_boot_id = ? WHERE \(Self.heldByLease)",
                                     [monotonicNow + Self.nanoseconds(leaseSeconds), clock.bootID, lease.job.id, lease.token])
            if changed == 0 {
                throw JobQueueError(.leaseLost, "the lease expired and the job was reclaimed", path: db.path, jobID: lease.job.id)
            }
        }
    }

    /// Stores the result, marks the job done and appends it to the outbox, atomically.
    /// Throws `.leaseLost` (nothing stored) or `.diskFull` (nothing stored; the job stays running
    /// until its lease expires and is retried).
    @discardableResult
    public func complete(_ lease: JobLease, result: JobResult) throws -> JobRecord {
        let timings = String(decoding: (try? JSONEncoder.sorted.encode(result.timings)) ?? Data("{}".utf8), as: UTF8.self)
        return try locked { db in
            try db.transaction {
                try requireHeld(db, lease)
                let now = clock.wallSeconds()
                try db.run("""
                    INSERT INTO results(job_id, text, tokens, timings_json, model_digest, image_digest, placement, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, [lease.job.id, result.text, result.tokens, timings, result.modelDigest, result.imageDigest,
                          result.placement, now])
                try db.run("""
                    UPDATE jobs SET state = 'done', finished_at = ?, lease_owner = NULL, lease_token = NULL, lease_expires_mono = NULL,
                      lease_boot_id = NULL, last_error = NULL WHERE id = ?
                    """, [now, lease.job.id])
                try db.run("INSERT INTO outbox(job_id, event, created_at) VALUES (?, 'done', ?)", [lease.job.id, now])
                return try fetchJob(db, id: lease.job.id)
            }
        }
    }

    /// Records a failed attempt. Retryable failures go back to the queue after an exponential
    /// backoff with jitter, until `maxAttempts` is reached (then `dead`); non-retryable ones
    /// (bad input) become `failed` at once. Terminal outcomes enter the outbox.
    /// Throws `.leaseLost` when the lease is no longer held.
    @discardableResult
    public func fail(_ lease: JobLease, error message: String, retryable: Bool) throws -> JobRecord {
        try locked { db in
            try db.transaction {
                try requireHeld(db, lease)
                let now = clock.wallSeconds()
                let attempts = lease.job.attempts
                if !retryable || attempts >= configuration.retry.maxAttempts {
                    let state: JobState = retryable ? .dead : .failed
                    let text = retryable ? "\(message) (dead after \(attempts) attempts)" : message
                    try finishTerminal(db, id: lease.job.id, state: state, error: text, now: now)
                } else {
                    let delay = configuration.retry.delaySeconds(afterAttempts: attempts, unitRandom: Double.random(in: 0..<1))
                    try requeue(db, id: lease.job.id, error: message, delaySeconds: delay, now: now)
                }
                return try fetchJob(db, id: lease.job.id)
            }
        }
    }

    /// Returns a running job to the queue without counting the attempt (graceful shutdown).
    /// Throws `.leaseLost` when the lease is no longer held.
    public func release(_ lease: JobLease) throws {
        try locked { db in
            try db.transaction {
                try requireHeld(db, lease)
                try db.run("""
                    UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_token = NULL,
                      lease_expires_mono = NULL, lease_boot_id = NULL, not_before_mono = NULL, not_before_boot_id = NULL
                    WHERE id = ?
                    """, [lease.job.id])
            }
        }
    }

    private func finishTerminal(_ db: SQLiteConnection, id: Int64, state: JobState, error: String, now: Double) throws {
        try db.run("""
            UPDATE jobs SET state = ?, last_error = ?, finished_at = ?, lease_owner = NULL, lease_token = NULL,
              lease_expires_mono = NULL, lease_boot_id = NULL WHERE id = ?
            """, [state.rawValue, error, now, id])
        try db.run("INSERT OR IGNORE INTO outbox(job_id, event, created_at) VALUES (?, ?, ?)", [id, state.rawValue, now])
    }

    private func requeue(_ db: SQLiteConnection, id: Int64, error: String, delaySeconds: Double, now: Double) throws {
        try db.run("""
            UPDATE jobs SET state = 'queued', last_error = ?, next_attempt_at = ?, not_before_mono = ?,
              not_before_boot_id = ?, lease_owner = NULL, lease_token = NULL, lease_expires_mono = NULL, lease_boot_id = NULL
            WHERE id = ?
            """, [error, now + delaySeconds, monotonicNow + Self.nanoseconds(delaySeconds), clock.bootID, id])
    }

    /// Running jobs whose lease expired or belongs to an earlier boot go back to the queue (or to
    /// dead-letter when their attempts are used up). Returns the jobs it touched.
    @discardableResult
    public func reclaimExpiredLeases() throws -> [JobRecord] {
        try locked { db in try db.transaction { try reclaimExpired(db) } }
    }

    @discardableResult
    private func reclaimExpired(_ db: SQLiteConnection) throws -> [JobRecord] {
        let ids = try db.query("""
            SELECT id FROM jobs WHERE state = 'running'
              AND (lease_boot_id IS NOT ? OR lease_expires_mono IS NULL OR lease_expires_mono <= ?)
            """, [clock.bootID, monotonicNow]) { $0.int64(0) }
        return try ids.map { try reclaim(db, id: $0, reason: "lease expired") }
    }

    /// Start-up crash recovery: every running job belongs to a process that is gone (the caller
    /// guarantees it is the only agent on this database, e.g. with a lock file), so each is
    /// reclaimed at once without waiting for its lease. Returns the jobs it touched.
    @discardableResult
    public func reclaimAllRunning(reason: String = "the agent stopped during this attempt") throws -> [JobRecord] {
        try locked { db in
            try db.transaction {
                let ids = try db.query("SELECT id FROM jobs WHERE state = 'running'") { $0.int64(0) }
                return try ids.map { try reclaim(db, id: $0, reason: reason) }
            }
        }
    }

    private func reclaim(_ db: SQLiteConnection, id: Int64, reason: String) throws -> JobRecord {
        let job = try fetchJob(db, id: id)
        let now = clock.wallSeconds()
        if job.attempts >= configuration.retry.maxAttempts {
            try finishTerminal(db, id: id, state: .dead, error: "\(reason) (dead after \(job.attempts) attempts)", now: now)
        } else {
            // No backoff: a crash is not evidence against the job until it repeats.
            try requeue(db, id: id, error: reason, delaySeconds: 0, now: now)
        }
        return try fetchJob(db, id: id)
    }

    // MARK: reading

    /// The job with `id`. Throws `.jobNotFound`.
    public func job(id: Int64) throws -> JobRecord {
        try locked { db in try fetchJob(db, id: id) }
    }

    /// The job with this idempotency key, if any.
    public func job(idempotencyKey: String) throws -> JobRecord? {
        try locked { db in
            try db.queryFirst("SELECT \(Self.jobColumns) FROM jobs WHERE idempotency_key = ?", [idempotencyKey]) { try Self.jobRow($0) }
        }
    }

    /// Jobs in `state` (all states when nil), newest first, at most `limit`.
    public func jobs(state: JobState? = nil, limit: Int = 100) throws -> [JobRecord] {
        try locked { db in
            if let state {
                return try db.query("SELECT \(Self.jobColumns) FROM jobs WHERE state = ? ORDER BY id DESC LIMIT ?",
                                    [state.rawValue, limit]) { try Self.jobRow($0) }
            }
            return try db.query("SELECT \(Self.jobColumns) FROM jobs ORDER BY id DESC LIMIT ?", [limit]) { try Self.jobRow($0) }
        }
    }

    private static let resultColumns = "r.text, r.tokens, r.timings_json, r.model_digest, r.image_digest, r.placement, r.created_at"

    private static func resultRow(_ s: SQLiteStatement, offset: Int32) -> (JobResult, Double) {
        let timings = (try? JSONDecoder().decode([String: Double].self, from: Data((s.text(offset + 2) ?? "{}").utf8))) ?? [:]
        return (JobResult(text: s.text(offset) ?? "", tokens: Int(s.int64(offset + 1)), timings: timings,
                          modelDigest: s.text(offset + 3) ?? "", imageDigest: s.text(offset + 4) ?? "",
                          placement: s.text(offset + 5) ?? ""), s.double(offset + 6))
    }

    private static let jobColumnsJ = jobColumns.split(separator: ",").map { "j." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        .joined(separator: ", ")

    /// The result of job `id`, or nil when it has none (yet).
    public func result(jobID: Int64) throws -> JobResultRecord? {
        try locked { db in
            try db.queryFirst("SELECT \(Self.jobColumnsJ), \(Self.resultColumns) FROM jobs j JOIN results r ON r.job_id = j.id WHERE j.id = ?",
                              [jobID]) { s in
                let (result, created) = Self.resultRow(s, offset: 15)
                return JobResultRecord(job: try Self.jobRow(s), result: result, createdAt: created)
            }
        }
    }

    /// The newest result of `source`, or nil.
    public func latestResult(source: String) throws -> JobResultRecord? {
        try locked { db in
            try db.queryFirst("""
                SELECT \(Self.jobColumnsJ), \(Self.resultColumns) FROM jobs j JOIN results r ON r.job_id = j.id
                WHERE j.source = ? ORDER BY r.created_at DESC, j.id DESC LIMIT 1
                """, [source]) { s in
                let (result, created) = Self.resultRow(s, offset: 15)
                return JobResultRecord(job: try Self.jobRow(s), result: result, createdAt: created)
            }
        }
    }

    /// How many jobs are in each state.
    public func stateCounts() throws -> JobStateCounts {
        try locked { db in
            var counts: [JobState: Int] = [:]
            for state in JobState.allCases { counts[state] = 0 }
            for (state, count) in try db.query("SELECT state, count(*) FROM jobs GROUP BY state", row: { ($0.text(0) ?? "", Int($0.int64(1))) }) {
                if let state = JobState(rawValue: state) { counts[state] = count }
            }
            return JobStateCounts(counts: counts)
        }
    }

    // MARK: outbox

    /// Unacknowledged outbox entries with sequence > `afterSequence`, in sequence order, at most
    /// `limit`. A sync client sends them in this order and acknowledges by sequence.
    public func unacknowledgedOutbox(afterSequence: Int64 = 0, limit: Int = 100) throws -> [JobOutboxEntry] {
        try locked { db in
            try db.query("""
                SELECT o.seq, o.event, o.created_at, \(Self.jobColumnsJ), \(Self.resultColumns.replacingOccurrences(of: "r.created_at", with: "r.job_id"))
                FROM outbox o JOIN jobs j ON j.id = o.job_id LEFT JOIN results r ON r.job_id = o.job_id
                WHERE o.acked_at IS NULL AND o.seq > ? ORDER BY o.seq LIMIT ?
                """, [afterSequence, limit]) { s in
                let sequence = s.int64(0)
                let event = JobState(rawValue: s.text(1) ?? "") ?? .failed
                let job = try Self.jobRow(s, offset: 3)
                let result = s.isNull(18 + 6) ? nil : Self.resultRow(s, offset: 18).0
                return JobOutboxEntry(sequence: sequence, deviceSequenceID: "\(deviceID)-\(sequence)", event: event,
                                      job: job, result: result, createdAt: s.double(2))
            }
        }
    }

    /// Marks every outbox entry with sequence ≤ `sequence` acknowledged (the coordinator stored
    /// them). Returns how many entries changed. Idempotent.
    @discardableResult
    public func acknowledgeOutbox(through sequence: Int64) throws -> Int {
        try locked { db in
            try db.run("UPDATE outbox SET acked_at = ? WHERE seq <= ? AND acked_at IS NULL", [clock.wallSeconds(), sequence])
        }
    }

    /// Marks exactly the outbox entries whose sequence is in `sequences` acknowledged (a
    /// coordinator may acknowledge a non-contiguous subset of a batch). Unknown or already
    /// acknowledged sequences are ignored. Returns how many entries changed. Idempotent; one
    /// transaction, so a crash leaves either all or none of them marked.
    @discardableResult
    public func acknowledgeOutbox(sequences: [Int64]) throws -> Int {
        guard !sequences.isEmpty else { return 0 }
        return try locked { db in
            try db.transaction {
                let now = clock.wallSeconds()
                var changed = 0
                for sequence in Set(sequences) {
                    changed += try db.run("UPDATE outbox SET acked_at = ? WHERE seq = ? AND acked_at IS NULL", [now, sequence])
                }
                return changed
            }
        }
    }

    /// How many outbox entries wait for acknowledgement (the sync backlog).
    public func unacknowledgedOutboxCount() throws -> Int {
        try locked { db in
            Int(try db.queryFirst("SELECT count(*) FROM outbox WHERE acked_at IS NULL") { $0.int64(0) } ?? 0)
        }
    }

    // MARK: retention and health

    /// Deletes terminal jobs finished more than `maxAgeSeconds` ago (only those whose outbox entry
    /// is acknowledged when `requireAcknowledged`), then deletes image files of the oldest terminal
    /// jobs until owned images of terminal jobs total at most `maxImageBytes`; finally gives free
    /// pages back with an incremental vacuum. Files are removed only after the commit.
    public func prune(maxAgeSeconds: Double?, maxImageBytes: Int64?, requireAcknowledged: Bool) throws -> JobPruneReport {
        let (deleted, files) = try locked { db in
            try db.transaction { () throws -> (Int, [(String, Int64)]) in
                var files: [(String, Int64)] = []
                var deleted = 0
                if let maxAgeSeconds {
                    let ackClause = requireAcknowledged
                        ? "AND EXISTS (SELECT 1 FROM outbox o WHERE o.job_id = jobs.id AND o.acked_at IS NOT NULL)" : ""
                    let old = try db.query("""
                        SELECT id, image_path, image_bytes, image_owned FROM jobs
                        WHERE state IN ('done', 'failed', 'dead') AND finished_at < ? \(ackClause)
                        """, [clock.wallSeconds() - maxAgeSeconds]) { s in (s.int64(0), s.text(1), s.int64(2), s.int64(3) != 0) }
                    for (id, path, bytes, owned) in old {
                        try db.run("DELETE FROM outbox WHERE job_id = ?", [id])
                        try db.run("DELETE FROM jobs WHERE id = ?", [id])
                        if owned, let path { files.append((path, bytes)) }
                        deleted += 1
                    }
                }
                if let maxImageBytes {
                    var total = try db.queryFirst("""
                        SELECT coalesce(sum(image_bytes), 0) FROM jobs
                        WHERE image_owned = 1 AND image_path IS NOT NULL AND state IN ('done', 'failed', 'dead')
                        """) { $0.int64(0) } ?? 0
                    if total > maxImageBytes {
                        let candidates = try db.query("""
                            SELECT id, image_path, image_bytes FROM jobs
                            WHERE image_owned = 1 AND image_path IS NOT NULL AND state IN ('done', 'failed', 'dead')
                            ORDER BY finished_at, id
                            """) { s in (s.int64(0), s.text(1) ?? "", s.int64(2)) }
                        for (id, path, bytes) in candidates where total > maxImageBytes {
                            try db.run("UPDATE jobs SET image_path = NULL, image_bytes = 0 WHERE id = ?", [id])
                            files.append((path, bytes))
                            total -= bytes
                        }
                    }
                }
                return (deleted, files)
            }
        }
        var report = JobPruneReport(deletedJobs: deleted, deletedImages: 0, freedImageBytes: 0)
        for (path, bytes) in files where (try? FileManager.default.removeItem(atPath: path)) != nil {
            report.deletedImages += 1
            report.freedImageBytes += bytes
        }
        try locked { db in try db.execute("PRAGMA incremental_vacuum") }
        return report
    }

    /// Runs `PRAGMA integrity_check`; returns "ok" or SQLite's list of problems.
    public func integrityCheck() throws -> String {
        try locked { db in
            try db.query("PRAGMA integrity_check") { $0.text(0) ?? "" }.joined(separator: "\n")
        }
    }

    /// Sets SQLite's page limit for this connection (0 restores SQLite's default maximum). Used to
    /// cap the database size; when reached, writes fail with `.diskFull` and nothing is written.
    @discardableResult
    public func setMaxPageCount(_ pages: Int) throws -> Int {
        try locked { db in
            Int(try db.queryFirst("PRAGMA max_page_count = \(pages == 0 ? 4_294_967_294 : pages)") { $0.int64(0) } ?? 0)
        }
    }

    /// Runs arbitrary read-only SQL for diagnostics and tests (e.g. `PRAGMA journal_mode`).
    public func diagnosticQuery(_ sql: String) throws -> [[SQLiteValue]] {
        try locked { db in
            let statement = try db.prepare(sql)
            defer { statement.finish() }
            var rows: [[SQLiteValue]] = []
            let columns = sqlite3ColumnCount(statement)
            while try statement.step() { rows.append((0..<columns).map { statement.value($0) }) }
            return rows
        }
    }
}

extension JSONEncoder {
    /// An encoder with sorted keys, so stored JSON is stable.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
