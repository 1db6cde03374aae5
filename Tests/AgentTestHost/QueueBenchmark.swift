import Foundation
import JobQueue

/// Durable queue throughput against plain SQLite inserts on the same file system, same pragmas
/// (WAL, synchronous=FULL), one transaction per operation as the agent does it.
struct QueueBenchmark {
    let count: Int
    let directory: String

    func run() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let rawPath = directory + "/raw-\(UUID().uuidString).sqlite"
        let queuePath = directory + "/queue-\(UUID().uuidString).sqlite"
        defer {
            for path in [rawPath, queuePath] {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            }
        }

        // Raw: one INSERT per transaction into a one-table database.
        let raw = try SQLiteConnection(path: rawPath)
        _ = try raw.pragma("journal_mode = WAL")
        try raw.execute("PRAGMA synchronous = FULL; CREATE TABLE t(id INTEGER PRIMARY KEY, key TEXT UNIQUE, body TEXT)")
        let rawSeconds = try time {
            for i in 0..<count { try raw.run("INSERT INTO t(key, body) VALUES (?, ?)", ["k\(i)", "Describe this image."]) }
        }
        let rawBatchSeconds = try time {
            try raw.transaction { for i in 0..<count { try raw.run("INSERT INTO t(key, body) VALUES (?, ?)", ["b\(i)", "x"]) } }
        }
        raw.close()

        let queue = try JobQueue(path: queuePath, configuration: JobQueueConfiguration(maxPendingJobs: 0))
        let enqueueSeconds = try time {
            for i in 0..<count {
                _ = try queue.enqueue(JobSubmission(kind: .file, source: "bench", prompt: "Describe this image.",
                                                    imagePath: "/img/\(i).jpg", imageBytes: 100_000, imageOwned: true,
                                                    idempotencyKey: "key-\(i)"))
            }
        }
        let result = JobResult(text: "a short caption of the image", tokens: 12, timings: ["total": 1.0],
                               modelDigest: "m", imageDigest: "i", placement: "cpu")
        let cycleSeconds = try time {
            while let lease = try queue.claim(owner: "bench", leaseSeconds: 60) { try queue.complete(lease, result: result) }
        }
        let integrity = try queue.integrityCheck()
        queue.close()

        func rate(_ seconds: Double) -> String { String(format: "%.0f", Double(count) / seconds) }
        print("operations: \(count) each, WAL + synchronous=FULL, one transaction per operation unless noted")
        print("raw INSERT (1 row/txn):        \(rate(rawSeconds)) rows/s")
        print("raw INSERT (all rows, 1 txn):  \(rate(rawBatchSeconds)) rows/s")
        print("queue enqueue (durable):       \(rate(enqueueSeconds)) jobs/s  (\(String(format: "%.2f", enqueueSeconds / rawSeconds))x raw time)")
        print("queue claim+complete (2 txns): \(rate(cycleSeconds)) jobs/s  (\(String(format: "%.2f", cycleSeconds / rawSeconds))x raw time)")
        print("integrity_check: \(integrity)")
    }

    private func time(_ body: () throws -> Void) throws -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
