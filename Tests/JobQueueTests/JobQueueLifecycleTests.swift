import Foundation
import Testing
@testable import JobQueue

@Suite("JobQueue state transitions")
struct JobQueueLifecycleTests {
    let directory: URL
    let clock = ManualJobQueueClock()
    let queue: JobQueue

    init() throws {
        directory = try makeTemporaryDirectory()
        queue = try JobQueue(path: directory.appendingPathComponent("queue.sqlite").path,
                             configuration: JobQueueConfiguration(retry: JobRetryPolicy(maxAttempts: 3, baseDelaySeconds: 10,
                                                                                        maxDelaySeconds: 100, jitterFraction: 0.5)),
                             clock: clock)
    }

    @Test func opensInWALWithFullSync() throws {
        #expect(try queue.diagnosticQuery("PRAGMA journal_mode") == [[.text("wal")]])
        #expect(try queue.diagnosticQuery("PRAGMA synchronous") == [[.integer(2)]])  // 2 = FULL
        #expect(try queue.diagnosticQuery("PRAGMA user_version") == [[.integer(Int64(JobQueue.schemaVersion))]])
        #expect(try queue.diagnosticQuery("PRAGMA auto_vacuum") == [[.integer(2)]])  // 2 = INCREMENTAL
        #expect(!queue.deviceID.isEmpty)
    }

    @Test func enqueueIsIdempotent() throws {
        let first = try queue.enqueue(submission("a"))
        guard case .created(let job) = first else { Issue.record("expected a new job"); return }
        #expect(job.state == .queued && job.attempts == 0 && job.createdAt == clock.wallSeconds())
        let second = try queue.enqueue(submission("a"))
        #expect(second == .duplicate(job))
        #expect(try queue.stateCounts()[.queued] == 1)
    }

    @Test func rejectsEmptyPrompt() throws {
        var bad = submission("a")
        bad.prompt = ""
        #expect(throws: JobQueueError.self) { try queue.enqueue(bad) }
    }

    @Test func claimCompleteStoresResultAndOutboxOnce() throws {
        let job = try queue.enqueue(submission("a")).job
        let lease = try #require(try queue.claim(owner: "w1", leaseSeconds: 30))
        #expect(lease.job.id == job.id && lease.job.state == .running && lease.job.attempts == 1)
        #expect(lease.job.leaseOwner == "w1" && lease.job.startedAt != nil)
        #expect(try queue.claim(owner: "w2", leaseSeconds: 30) == nil)

        let done = try queue.complete(lease, result: sampleResult())
        #expect(done.state == .done && done.finishedAt != nil && done.leaseOwner == nil)
        let stored = try #require(try queue.result(jobID: job.id))
        #expect(stored.result == sampleResult())
        // A second completion through the same lease must not store a second result.
        let error = try #require(throws: JobQueueError.self) { try queue.complete(lease, result: sampleResult("other")) }
        #expect(error.kind == .leaseLost && error.jobID == job.id)
        #expect(try queue.result(jobID: job.id)?.result.text == "a cat")
        let outbox = try queue.unacknowledgedOutbox()
        #expect(outbox.count == 1 && outbox[0].event == .done && outbox[0].result == sampleResult())
    }

    @Test func retryableFailureBacksOffThenDeadLetters() throws {
        let job = try queue.enqueue(submission("a")).job
        for attempt in 1...3 {
            let lease = try #require(try queue.claim(owner: "w", leaseSeconds: 30))
            #expect(lease.job.attempts == attempt)
            let after = try queue.fail(lease, error: "timeout \(attempt)", retryable: true)
            if attempt < 3 {
                #expect(after.state == .queued && after.lastError == "timeout \(attempt)")
                // Backoff: base 10 s doubling, jitter up to +50 %.
                let base = 10.0 * Double(1 << (attempt - 1))
                let delay = after.nextAttemptAt - clock.wallSeconds()
                #expect(delay >= base && delay <= base * 1.5)
                #expect(try queue.claim(owner: "w", leaseSeconds: 30) == nil)
                clock.advance(seconds: base * 0.99)
                #expect(try queue.claim(owner: "w", leaseSeconds: 30) == nil)
                clock.advance(seconds: base * 0.52)
            } else {
                #expect(after.state == .dead)
                #expect(after.lastError == "timeout 3 (dead after 3 attempts)")
            }
        }
        #expect(try queue.jobs(state: .dead).map(\.id) == [job.id])
        #expect(try queue.unacknowledgedOutbox().map(\.event) == [.dead])
    }

    @Test func nonRetryableFailureIsTerminalAtOnce() throws {
        _ = try queue.enqueue(submission("a"))
        let lease = try #require(try queue.claim(owner: "w", leaseSeconds: 30))
        let failed = try queue.fail(lease, error: "image does not decode", retryable: false)
        #expect(failed.state == .failed && failed.lastError == "image does not decode" && failed.attempts == 1)
        #expect(try queue.claim(owner: "w", leaseSeconds: 30) == nil)
    }

    @Test func priorityThenAgeOrdersClaims() throws {
        let low = try queue.enqueue(submission("low")).job
        let high = try queue.enqueue(submission("high", priority: 5)).job
        let low2 = try queue.enqueue(submission("low2")).job
        let order = try (0..<3).map { _ in try #require(try queue.claim(owner: "w", leaseSeconds: 30)).job.id }
        #expect(order == [high.id, low.id, low2.id])
    }

    @Test func releaseReturnsJobWithoutCountingTheAttempt() throws {
        _ = try queue.enqueue(submission("a"))
        let lease = try #require(try queue.claim(owner: "w", leaseSeconds: 30))
        try queue.release(lease)
        let again = try #require(try queue.claim(owner: "w", leaseSeconds: 30))
        #expect(again.job.attempts == 1)
        #expect(throws: JobQueueError.self) { try queue.release(lease) }  // a stale lease cannot touch the new claim
    }

    @Test func recordRejectedIsTerminalWithOutbox() throws {
        let outcome = try queue.recordRejected(submission("huge"), error: "image is 90 MB, limit 20 MB")
        #expect(outcome.job.state == .failed && outcome.job.lastError == "image is 90 MB, limit 20 MB")
        #expect(try queue.recordRejected(submission("huge"), error: "x") == .duplicate(outcome.job))
        #expect(try queue.unacknowledgedOutbox().map(\.job.id) == [outcome.job.id])
    }

    @Test func enqueueLatestCoalescesQueuedCaptures() throws {
        let dir = directory.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var paths: [String] = []
        for i in 0..<3 {
            let path = dir.appendingPathComponent("frame\(i).jpg").path
            FileManager.default.createFile(atPath: path, contents: Data([0xff, 0xd8]))
            paths.append(path)
        }
        _ = try queue.enqueueLatest(submission("f0", source: "cam", kind: .camera, imagePath: paths[0], owned: true))
        let running = try #require(try queue.claim(owner: "w", leaseSeconds: 30))
        _ = try queue.enqueueLatest(submission("f1", source: "cam", kind: .camera, imagePath: paths[1], owned: true))
        let (outcome, superseded) = try queue.enqueueLatest(submission("f2", source: "cam", kind: .camera, imagePath: paths[2], owned: true))
        #expect(superseded.map(\.imagePath) == [paths[1]])
        #expect(!FileManager.default.fileExists(atPath: paths[1]))
        #expect(FileManager.default.fileExists(atPath: paths[0]) && FileManager.default.fileExists(atPath: paths[2]))
        #expect(try queue.jobs(state: .queued).map(\.id) == [outcome.job.id])
        #expect(try queue.job(id: running.job.id).state == .running)
    }

    @Test func queueFullRefusesNewWork() throws {
        let small = try JobQueue(path: directory.appendingPathComponent("small.sqlite").path,
                                 configuration: JobQueueConfiguration(maxPendingJobs: 2), clock: clock)
        _ = try small.enqueue(submission("a"))
        _ = try small.enqueue(submission("b"))
        let error = try #require(throws: JobQueueError.self) { try small.enqueue(submission("c")) }
        #expect(error.kind == .queueFull)
        #expect(try small.enqueue(submission("a")).job.state == .queued)  // duplicates still answer
    }

    @Test func outboxReadsInOrderAndAcknowledges() throws {
        var ids: [Int64] = []
        for name in ["a", "b", "c"] {
            _ = try queue.enqueue(submission(name))
            let lease = try #require(try queue.claim(owner: "w", leaseSeconds: 30))
            try queue.complete(lease, result: sampleResult(name))
            ids.append(lease.job.id)
        }
        let all = try queue.unacknowledgedOutbox()
        #expect(all.map(\.job.id) == ids)
        #expect(all.map(\.sequence) == all.map(\.sequence).sorted())
        #expect(all[0].deviceSequenceID == "\(queue.deviceID)-\(all[0].sequence)")
        #expect(try queue.unacknowledgedOutbox(afterSequence: all[0].sequence, limit: 1).map(\.job.id) == [ids[1]])
        #expect(try queue.acknowledgeOutbox(through: all[1].sequence) == 2)
        #expect(try queue.acknowledgeOutbox(through: all[1].sequence) == 0)
        #expect(try queue.unacknowledgedOutbox().map(\.job.id) == [ids[2]])
    }

    @Test func latestResultPerSource() throws {
        for (name, source) in [("a", "cam1"), ("b", "cam2"), ("c", "cam1")] {
            _ = try queue.enqueue(submission(name, source: source))
            let lease = try #require(try queue.claim(owner: "w", leaseSeconds: 30))
            clock.advance(seconds: 1)
            try queue.complete(lease, result: sampleResult(name))
        }
        #expect(try queue.latestResult(source: "cam1")?.result.text == "c")
        #expect(try queue.latestResult(source: "cam2")?.result.text == "b")
        #expect(try queue.latestResult(source: "none") == nil)
    }
}
