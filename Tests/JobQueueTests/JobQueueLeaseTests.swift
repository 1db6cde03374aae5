import Foundation
import Testing
@testable import JobQueue

@Suite("JobQueue leases on the monotonic clock")
struct JobQueueLeaseTests {
    let clock = ManualJobQueueClock()
    let queue: JobQueue

    init() throws {
        queue = try JobQueue(path: try makeTemporaryDirectory().appendingPathComponent("q.sqlite").path,
                             configuration: JobQueueConfiguration(retry: JobRetryPolicy(maxAttempts: 2)), clock: clock)
        _ = try queue.enqueue(submission("a"))
    }

    @Test func leaseExpiresOnlyWhenMonotonicTimePasses() throws {
        let lease = try #require(try queue.claim(owner: "w1", leaseSeconds: 10))
        clock.advance(seconds: 9)
        #expect(try queue.claim(owner: "w2", leaseSeconds: 10) == nil)
        clock.advance(seconds: 1.5)
        let stolen = try #require(try queue.claim(owner: "w2", leaseSeconds: 10))
        #expect(stolen.job.id == lease.job.id && stolen.job.attempts == 2)
        #expect(stolen.job.lastError == "lease expired")
        // The first worker's late result is refused: exactly one result per job.
        let error = try #require(throws: JobQueueError.self) { try queue.complete(lease, result: sampleResult()) }
        #expect(error.kind == .leaseLost)
        try queue.complete(stolen, result: sampleResult())
    }

    @Test func wallClockJumpsNeitherExpireNorExtendLeases() throws {
        let lease = try #require(try queue.claim(owner: "w1", leaseSeconds: 10))
        clock.jumpWallClock(seconds: 86_400 * 365)
        #expect(try queue.reclaimExpiredLeases().isEmpty)
        clock.jumpWallClock(seconds: -86_400 * 800)
        clock.advance(seconds: 11)
        #expect(try queue.reclaimExpiredLeases().map(\.id) == [lease.job.id])
    }

    @Test func heartbeatExtendsTheLease() throws {
        let lease = try #require(try queue.claim(owner: "w1", leaseSeconds: 10))
        for _ in 0..<5 {
            clock.advance(seconds: 8)
            try queue.heartbeat(lease, leaseSeconds: 10)
        }
        #expect(try queue.reclaimExpiredLeases().isEmpty)
        clock.advance(seconds: 10.1)
        #expect(try queue.reclaimExpiredLeases().count == 1)
        let error = try #require(throws: JobQueueError.self) { try queue.heartbeat(lease, leaseSeconds: 10) }
        #expect(error.kind == .leaseLost)
    }

    @Test func rebootVoidsLeasesAndDelays() throws {
        let lease = try #require(try queue.claim(owner: "w1", leaseSeconds: 3_600))
        _ = try queue.fail(lease, error: "transient", retryable: true)  // queued with a delay on boot-a
        #expect(try queue.claim(owner: "w1", leaseSeconds: 3_600) == nil)
        clock.reboot(newBootID: "boot-b")  // monotonic time restarts lower: the old delay is void
        let again = try #require(try queue.claim(owner: "w1", leaseSeconds: 3_600))
        #expect(again.job.attempts == 2)
        clock.reboot(newBootID: "boot-c")
        // Attempts are used up, so the lease of the dead boot dead-letters the job.
        #expect(try queue.reclaimExpiredLeases().map(\.state) == [.dead])
    }

    @Test func startupRecoveryReclaimsEveryRunningJob() throws {
        _ = try #require(try queue.claim(owner: "old-process", leaseSeconds: 3_600))
        let recovered = try queue.reclaimAllRunning()
        #expect(recovered.map(\.state) == [.queued])
        _ = try #require(try queue.claim(owner: "new-process", leaseSeconds: 3_600))
        // Second crash on the same job: attempts (2) reached maxAttempts → dead-letter.
        let dead = try queue.reclaimAllRunning()
        #expect(dead.map(\.state) == [.dead])
        #expect(dead[0].lastError == "the agent stopped during this attempt (dead after 2 attempts)")
    }
}
