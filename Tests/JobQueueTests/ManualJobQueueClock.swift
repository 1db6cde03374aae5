import Foundation
import JobQueue

/// A clock the tests move by hand: monotonic time, wall time and boot id are independent, so a
/// test can jump the wall clock without moving the monotonic one (and vice versa).
final class ManualJobQueueClock: JobQueueClock, @unchecked Sendable {
    private let lock = NSLock()
    private var mono: UInt64 = 1_000_000_000_000
    private var wall: Double = 1_800_000_000
    private var boot = "boot-a"

    var bootID: String { lock.withLock { boot } }
    func monotonicNanoseconds() -> UInt64 { lock.withLock { mono } }
    func wallSeconds() -> Double { lock.withLock { wall } }

    func advance(seconds: Double) {
        lock.withLock {
            mono += UInt64(seconds * 1e9)
            wall += seconds
        }
    }
    func jumpWallClock(seconds: Double) { lock.withLock { wall += seconds } }
    func reboot(newBootID: String) { lock.withLock { boot = newBootID; mono = 5_000_000_000 } }
}

/// A fresh temporary directory for one test.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("jobqueue-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func submission(_ name: String, source: String = "inbox", priority: Int = 0, kind: JobKind = .file,
                imagePath: String? = nil, bytes: Int64 = 10, owned: Bool = false) -> JobSubmission {
    JobSubmission(kind: kind, source: source, prompt: "Describe the image.", imagePath: imagePath ?? "/images/\(name).jpg",
                  imageBytes: bytes, imageOwned: owned, priority: priority, idempotencyKey: "key-\(name)")
}

func sampleResult(_ text: String = "a cat") -> JobResult {
    JobResult(text: text, tokens: 3, timings: ["total": 1.5], modelDigest: "model-digest", imageDigest: "image-digest",
              placement: "vision=cpu llm=cpu")
}
