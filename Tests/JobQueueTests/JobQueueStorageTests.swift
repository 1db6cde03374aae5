import Foundation
import Testing
@testable import JobQueue

@Suite("JobQueue files: migrations, foreign files, disk full, retention")
struct JobQueueStorageTests {
    let directory: URL
    let clock = ManualJobQueueClock()

    init() throws { directory = try makeTemporaryDirectory() }

    /// The schema as version 1 of the agent wrote it (kept verbatim here, independent of the
    /// module's migration text, so a change to history is caught).
    static let version1Schema = """
    CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL CHECK (kind IN ('file', 'camera')),
      source TEXT NOT NULL, prompt TEXT NOT NULL, image_path TEXT, priority INTEGER NOT NULL DEFAULT 0,
      state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'dead')),
      attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL, lease_owner TEXT, lease_expires_mono INTEGER,
      lease_boot_id TEXT, idempotency_key TEXT NOT NULL UNIQUE, last_error TEXT, created_at REAL NOT NULL,
      started_at REAL, finished_at REAL);
    CREATE INDEX jobs_by_state ON jobs(state, priority DESC, id);
    CREATE TABLE results(job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE, text TEXT NOT NULL,
      tokens INTEGER NOT NULL, timings_json TEXT NOT NULL, model_digest TEXT NOT NULL, image_digest TEXT NOT NULL,
      placement TEXT NOT NULL, created_at REAL NOT NULL);
    INSERT INTO jobs VALUES (1, 'file', 'inbox', 'Describe.', '/a.jpg', 0, 'done', 1, 100, NULL, NULL, NULL, 'k1', NULL, 100, 101, 102);
    INSERT INTO jobs VALUES (2, 'camera', 'cam', 'Describe.', '/b.jpg', 0, 'queued', 0, 100, NULL, NULL, NULL, 'k2', NULL, 100, NULL, NULL);
    INSERT INTO jobs VALUES (3, 'file', 'inbox', 'Describe.', '/c.jpg', 0, 'running', 1, 100, 'old', 5, 'boot-old', 'k3', NULL, 100, 101, NULL);
    INSERT INTO results VALUES (1, 'a dog', 2, '{"total":1}', 'm', 'i', 'cpu', 102);
    PRAGMA user_version = 1;
    """

    @Test func migratesVersion1Database() throws {
        let path = directory.appendingPathComponent("v1.sqlite").path
        do {
            let old = try SQLiteConnection(path: path)
            try old.execute(Self.version1Schema)
            old.close()
        }
        let queue = try JobQueue(path: path, clock: clock)
        #expect(try queue.diagnosticQuery("PRAGMA user_version") == [[.integer(2)]])
        #expect(try queue.job(id: 1).state == .done)
        #expect(try queue.result(jobID: 1)?.result.text == "a dog")
        // The existing result was backfilled into the outbox so it is synced like new ones.
        #expect(try queue.unacknowledgedOutbox().map(\.job.id) == [1])
        // The old running job belongs to another boot: it is reclaimed and runnable.
        #expect(try queue.reclaimExpiredLeases().map(\.id) == [3])
        let lease = try #require(try queue.claim(owner: "w", leaseSeconds: 10))
        #expect(lease.job.id == 2)
        #expect(try queue.integrityCheck() == "ok")
    }

    @Test func refusesNewerSchema() throws {
        let path = directory.appendingPathComponent("future.sqlite").path
        do {
            let db = try SQLiteConnection(path: path)
            try db.execute("CREATE TABLE x(a); PRAGMA user_version = 99")
            db.close()
        }
        let error = try #require(throws: JobQueueError.self) { try JobQueue(path: path, clock: clock) }
        #expect(error.kind == .schemaTooNew && error.path == path)
    }

    @Test(arguments: ["text", "fake-header"])
    func refusesFileThatIsNotSQLiteAndLeavesItUnchanged(variant: String) throws {
        let path = directory.appendingPathComponent("not-a-db-\(variant)").path
        var bytes = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        if variant == "fake-header" { bytes.replaceSubrange(0..<16, with: Array("SQLite format 3\0".utf8)) }
        else { bytes.replaceSubrange(0..<12, with: Array("hello world\n".utf8)) }
        try bytes.write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: JobQueueError.self) { try JobQueue(path: path, clock: clock) }
        #expect([.notADatabase, .corrupt].contains(error.kind))
        #expect(error.description.contains(path))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func diskFullRefusesEnqueueThenRecovers() throws {
        let queue = try JobQueue(path: directory.appendingPathComponent("full.sqlite").path, clock: clock)
        _ = try queue.enqueue(submission("first"))
        let running = try #require(try queue.claim(owner: "w", leaseSeconds: 60))
        let pages = try queue.diagnosticQuery("PRAGMA page_count")
        guard case .integer(let count) = pages.first?.first else { Issue.record("no page count"); return }
        try queue.setMaxPageCount(Int(count) + 2)
        var refused: JobQueueError?
        for i in 0..<200 {
            var big = submission("big\(i)")
            big.prompt = String(repeating: "x", count: 4_000)
            do { _ = try queue.enqueue(big) } catch let error as JobQueueError { refused = error; break }
        }
        let error = try #require(refused)
        #expect(error.kind == .diskFull)
        #expect(error.message.contains("free disk space"))
        #expect(try queue.integrityCheck() == "ok")
        // The running job is intact and can still be completed once space returns.
        try queue.setMaxPageCount(0)
        try queue.complete(running, result: sampleResult())
        _ = try queue.enqueue(submission("after"))
        #expect(try queue.job(idempotencyKey: "key-after")?.state == .queued)
        #expect(try queue.integrityCheck() == "ok")
    }

    @Test func pruneByAgeKeepsUnacknowledgedAndByteBudgetDeletesOldestImages() throws {
        let queue = try JobQueue(path: directory.appendingPathComponent("prune.sqlite").path, clock: clock)
        var paths: [String] = []
        for i in 0..<4 {
            let path = directory.appendingPathComponent("img\(i).jpg").path
            FileManager.default.createFile(atPath: path, contents: Data(repeating: 1, count: 100))
            paths.append(path)
            _ = try queue.enqueue(submission("j\(i)", imagePath: path, bytes: 100, owned: true))
            let lease = try #require(try queue.claim(owner: "w", leaseSeconds: 10))
            try queue.complete(lease, result: sampleResult())
            clock.advance(seconds: 3_600)
        }
        let outbox = try queue.unacknowledgedOutbox()
        try queue.acknowledgeOutbox(through: outbox[0].sequence)  // only job 0 synced
        // Jobs 0 and 1 are older than 2.5 h; only 0 is acknowledged, so only 0 goes.
        let byAge = try queue.prune(maxAgeSeconds: 2.5 * 3_600, maxImageBytes: nil, requireAcknowledged: true)
        #expect(byAge == JobPruneReport(deletedJobs: 1, deletedImages: 1, freedImageBytes: 100))
        #expect(throws: JobQueueError.self) { try queue.job(id: outbox[0].job.id) }
        #expect(!FileManager.default.fileExists(atPath: paths[0]))
        // Byte budget 150: images of jobs 1 and 2 go (oldest first), job 3's stays; rows stay.
        let bySize = try queue.prune(maxAgeSeconds: nil, maxImageBytes: 150, requireAcknowledged: true)
        #expect(bySize == JobPruneReport(deletedJobs: 0, deletedImages: 2, freedImageBytes: 200))
        #expect(paths.map { FileManager.default.fileExists(atPath: $0) } == [false, false, false, true])
        #expect(try queue.job(id: outbox[1].job.id).imagePath == nil)
        #expect(try queue.integrityCheck() == "ok")
    }

    @Test func reopenKeepsEverything() throws {
        let path = directory.appendingPathComponent("reopen.sqlite").path
        var queue: JobQueue? = try JobQueue(path: path, clock: clock)
        _ = try queue?.enqueue(submission("a"))
        let device = queue?.deviceID
        queue?.close()
        queue = nil
        let again = try JobQueue(path: path, clock: clock)
        #expect(again.deviceID == device)
        #expect(try again.stateCounts()[.queued] == 1)
    }
}
