import Foundation
import JobQueue
import Testing
@testable import Agent

@Suite("Sync pieces")
struct SyncUnitTests {
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-sync-unit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    // MARK: configuration

    @Test func syncKeysParse() throws {
        let c = try AgentConfiguration.parse(toml: """
            [state]
            directory = "/srv/e"
            [sync]
            enabled = true
            coordinator = "fleet.example.com:8443"
            enrollment_token_file = "/etc/edgevlm/token"
            ca_file = "/etc/edgevlm/ca.pem"
            batch_size = 250
            poll_interval_seconds = 30
            min_upload_interval_seconds = 0.5
            backoff_base_seconds = 2
            backoff_max_seconds = 120
            refused_retry_seconds = 600
            request_timeout_seconds = 5
            """)
        #expect(c.sync.enabled && c.sync.coordinator == "fleet.example.com:8443")
        #expect(c.sync.enrollmentTokenFile == "/etc/edgevlm/token" && c.sync.caFile == "/etc/edgevlm/ca.pem")
        #expect(c.sync.batchSize == 250 && c.sync.pollIntervalSeconds == 30 && c.sync.minUploadIntervalSeconds == 0.5)
        #expect(c.sync.backoffBaseSeconds == 2 && c.sync.backoffMaxSeconds == 120)
        #expect(c.sync.refusedRetrySeconds == 600 && c.sync.requestTimeoutSeconds == 5)
        #expect(c.syncDirectory == "/srv/e/sync")
    }

    @Test(arguments: [
        ("coordinator = \"nohost\"\ninsecure_plaintext = true", "sync.coordinator"),
        ("coordinator = \"h:99999\"\ninsecure_plaintext = true", "sync.coordinator"),
        ("coordinator = \"h:1\"\ninsecure_plaintext = true\nca_file = \"/x.pem\"", "sync.insecure_plaintext"),
        ("coordinator = \"h:1\"\ninsecure_plaintext = true\nenrollment_token = \"a\"\nenrollment_token_file = \"/t\"",
         "sync.enrollment_token_file"),
        ("coordinator = \"h:1\"\ninsecure_plaintext = true\nbackoff_base_seconds = 10\nbackoff_max_seconds = 5", "sync.backoff_max_seconds"),
        ("coordinator = \"h:1\"\ninsecure_plaintext = \"yes\"", "sync.insecure_plaintext"),
        ("coordinator = \"h:1\"\ninsecure_plaintext = true\nrefused_retry_seconds = 0", "sync.refused_retry_seconds"),
        ("coordinator = \"h:1\"\ninsecure_plaintext = true\ntoken = \"x\"", "sync.token"),
    ])
    func badSyncValuesNameTheKey(body: String, key: String) throws {
        let error = try #require(throws: AgentError.self) { try AgentConfiguration.parse(toml: "[sync]\nenabled = true\n" + body + "\n") }
        #expect(error.kind == .configuration && error.key == key)
    }

    @Test func endpoints() {
        #expect(SyncEndpoint(parsing: "127.0.0.1:50051") == SyncEndpoint(parsing: "127.0.0.1:50051"))
        let v4 = SyncEndpoint(parsing: "127.0.0.1:50051")
        #expect(v4?.host == "127.0.0.1" && v4?.port == 50051 && v4?.isIPv4 == true)
        let v6 = SyncEndpoint(parsing: "[::1]:8443")
        #expect(v6?.host == "::1" && v6?.port == 8443 && v6?.isIPv6 == true)
        let dns = SyncEndpoint(parsing: "fleet.example.com:443")
        #expect(dns?.host == "fleet.example.com" && dns?.isIPv4 == false && dns?.isIPv6 == false)
        for bad in ["", "host", ":80", "host:", "host:0", "host:x", "::1:80", "[::1]80", "a b:1"] {
            #expect(SyncEndpoint(parsing: bad) == nil, "\(bad)")
        }
    }

    // MARK: backoff

    @Test func backoffCeilingDoublesUpToTheMaximum() {
        let ceilings = (0...12).map { SyncBackoff.ceiling(failures: $0, baseSeconds: 0.5, maxSeconds: 300) }
        #expect(ceilings[0] == 0)
        #expect(ceilings[1] == 0.5 && ceilings[2] == 1 && ceilings[3] == 2 && ceilings[10] == 256)
        #expect(ceilings[11] == 300 && ceilings[12] == 300)
        #expect(SyncBackoff.ceiling(failures: 10_000, baseSeconds: 1, maxSeconds: 60) == 60)
    }

    @Test func backoffDelaysStayWithinFullJitterBoundsAndSpread() {
        var backoff = SyncBackoff(baseSeconds: 1, maxSeconds: 16)
        var generator = SystemRandomNumberGenerator()
        var delaysAtCap: [Double] = []
        for failure in 1...40 {
            let delay = backoff.nextDelay(using: &generator)
            let ceiling = SyncBackoff.ceiling(failures: failure, baseSeconds: 1, maxSeconds: 16)
            #expect(delay >= 0 && delay <= ceiling)
            if failure > 5 { delaysAtCap.append(delay) }
        }
        #expect(backoff.failures == 40)
        // Full jitter: 35 draws from [0, 16] are not all in one half (probability 2 * 2^-35).
        #expect(delaysAtCap.contains { $0 < 8 } && delaysAtCap.contains { $0 >= 8 })
        backoff.reset()
        #expect(backoff.failures == 0 && backoff.nextDelay(using: &generator) <= 1)
    }

    @Test func scheduleWaitsLongAfterRefusalAndResetsBackoff() {
        var sync = AgentConfiguration.Sync()
        sync.backoffBaseSeconds = 1
        sync.backoffMaxSeconds = 4
        sync.refusedRetrySeconds = 900
        var schedule = SyncSchedule(sync: sync)
        for _ in 0..<5 { #expect(schedule.delay(after: .transient) <= 4) }
        #expect(schedule.delay(after: .refused) == 900)
        #expect(schedule.backoff.failures == 0)
        #expect(schedule.delay(after: .stopped) == 0)
    }

    // MARK: outbox ack bookkeeping (real SQLite queue)

    static func completedJobs(_ queue: JobQueue, count: Int) throws {
        for index in 0..<count {
            _ = try queue.enqueue(JobSubmission(kind: .file, source: "test", prompt: "p", imagePath: "/img/\(index).jpg",
                                                imageBytes: 10, imageOwned: false, idempotencyKey: "k\(index)"))
            let lease = try #require(try queue.claim(owner: "w", leaseSeconds: 30))
            _ = try queue.complete(lease, result: JobResult(text: "caption \(index)", tokens: 3, timings: ["total": 0.25],
                                                            modelDigest: "m", imageDigest: "d\(index)", placement: "cpu"))
        }
    }

    @Test func acknowledgingNonContiguousSeqsRemovesExactlyThose() throws {
        let directory = try Self.temporaryDirectory()
        let queue = try JobQueue(path: directory + "/q.sqlite")
        defer { queue.close() }
        try Self.completedJobs(queue, count: 6)
        let entries = try queue.unacknowledgedOutbox(limit: 100)
        #expect(entries.count == 6)
        #expect(try queue.unacknowledgedOutboxCount() == 6)
        let seqs = entries.map(\.sequence)
        // The coordinator acknowledged 1st, 3rd and 6th (e.g. the others failed validation).
        let acked = [seqs[0], seqs[2], seqs[5]]
        #expect(try queue.acknowledgeOutbox(sequences: acked + [seqs[0]]) == 3)
        #expect(try queue.unacknowledgedOutbox(limit: 100).map(\.sequence) == [seqs[1], seqs[3], seqs[4]])
        #expect(try queue.unacknowledgedOutboxCount() == 3)
        // Repeats and unknown seqs change nothing.
        #expect(try queue.acknowledgeOutbox(sequences: acked + [999_999]) == 0)
        #expect(try queue.acknowledgeOutbox(sequences: []) == 0)
        // Survives reopening (the ack is durable).
        queue.close()
        let reopened = try JobQueue(path: directory + "/q.sqlite")
        defer { reopened.close() }
        #expect(try reopened.unacknowledgedOutboxCount() == 3)
    }

    @Test func outboxEntriesMapToWireResults() throws {
        let directory = try Self.temporaryDirectory()
        let queue = try JobQueue(path: directory + "/q.sqlite")
        defer { queue.close() }
        try Self.completedJobs(queue, count: 2)
        let entry = try #require(try queue.unacknowledgedOutbox(limit: 1).first)
        let wire = try #require(SyncResultMapping.fleetResult(entry))
        #expect(wire.seq == UInt64(entry.sequence) && wire.jobID == String(entry.job.id))
        #expect(wire.text == "caption 0" && wire.modelDigest == "m" && wire.source == "test" && wire.latencyMs == 250)
        let attributes = try JSONSerialization.jsonObject(with: Data(wire.attributesJson.utf8)) as? [String: Any]
        #expect(attributes?["image_digest"] as? String == "d0" && attributes?["prompt"] as? String == "p")
        var failed = entry
        failed.event = .failed
        #expect(SyncResultMapping.fleetResult(failed) == nil)
    }

    // MARK: identity and time floor

    @Test func identityIsStoredPrivatelyAndReloaded() throws {
        let directory = try Self.temporaryDirectory() + "/sync"
        #expect(try SyncIdentity.load(from: directory) == nil)
        let identity = SyncIdentity(deviceID: "dev-1", credential: "secret", enrolledAtUnixMs: 1_800_000_000_000)
        try identity.save(to: directory)
        #expect(try SyncIdentity.load(from: directory) == identity)
        let attributes = try FileManager.default.attributesOfItem(atPath: SyncIdentity.path(in: directory))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        try Data("{\"device_id\": \"x\"".utf8).write(to: URL(fileURLWithPath: SyncIdentity.path(in: directory)))
        let error = try #require(throws: AgentError.self) { try SyncIdentity.load(from: directory) }
        #expect(error.kind == .io && error.path == SyncIdentity.path(in: directory))
    }

    @Test func timeFloorKeepsA1970ClockPlausibleAndPersists() throws {
        let path = try Self.temporaryDirectory() + "/time-floor"
        let floor = SyncTimeFloor(path: path, systemNowMs: { 1_000 })  // a device that booted in 1970
        #expect(floor.nowMs() == 1_000 && !floor.systemClockIsBehind())
        let server: Int64 = 1_795_000_000_000
        floor.observe(serverTimeMs: server)
        #expect(floor.nowMs() >= server && floor.nowMs() < server + 5_000)
        #expect(floor.systemClockIsBehind())
        floor.observe(serverTimeMs: server - 60_000)  // an older answer never lowers it
        #expect(floor.nowMs() >= server)
        let reloaded = SyncTimeFloor(path: path, systemNowMs: { 1_000 })
        #expect(reloaded.nowMs() >= server)
        // A correct system clock ahead of the floor wins.
        let ahead = SyncTimeFloor(path: path, systemNowMs: { server + 3_600_000 })
        #expect(ahead.nowMs() == server + 3_600_000 && !ahead.systemClockIsBehind())
    }
}
