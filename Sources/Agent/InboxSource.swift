import Foundation
import JobQueue
import Logging
import ServiceLifecycle

/// Takes complete image files from the inbox directory and turns each into exactly one job.
///
/// A file renamed into the inbox is complete at once; a file written in place is taken after it
/// was closed and its size and modification time stayed unchanged for `stable_seconds` (also how
/// files found by the start-up scan are judged). Names starting with '.' or ending in `.tmp` or
/// `.part` are ignored (writers' temporary files). The file moves to `processed/` (or `failed/`
/// when refused) only after its job row is committed; after a crash in between, the next scan
/// finds it again and the idempotency key returns the same job.
final class InboxSource: Service {
    let intake: JobIntake
    let inbox: AgentConfiguration.Inbox
    let maxImageBytes: Int
    let logger: Logger

    /// How often the folder is rescanned as a safety net for lost inotify events.
    let rescanInterval: Duration = .seconds(5)

    init(intake: JobIntake, configuration: AgentConfiguration, logger: Logger) {
        self.intake = intake
        self.inbox = configuration.inbox
        self.maxImageBytes = configuration.queue.maxImageBytes
        self.logger = logger
    }

    private struct Observation {
        var size: Int
        var modified: Date
        var since: ContinuousClock.Instant
        var retryAfter: ContinuousClock.Instant?
    }

    enum Signal: Sendable { case event(InotifyWatcher.Event), tick }

    func run() async throws {
        for directory in [inbox.directory, inbox.processedDirectory, inbox.failedDirectory] {
            try DurableFiles.makeDirectory(directory)
        }
        let watcher = try InotifyWatcher(directory: inbox.directory)
        defer { watcher.stop() }
        let (signals, continuation) = AsyncStream.makeStream(of: Signal.self, bufferingPolicy: .bufferingNewest(10_000))
        let forward = Task {
            for await event in watcher.events { continuation.yield(.event(event)) }
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                continuation.yield(.tick)
            }
        }
        defer {
            forward.cancel()
            ticker.cancel()
            continuation.finish()
        }

        var candidates: [String: Observation] = [:]
        var lastScan = ContinuousClock.now - rescanInterval - .seconds(1)
        for await signal in signals.cancelOnGracefulShutdown() {
            switch signal {
            case .event(.movedIn(let name)):
                if Self.isCandidate(name) { await take(name, candidates: &candidates) }
            case .event(.closedAfterWrite(let name)):
                if Self.isCandidate(name) { observe(name, into: &candidates) }
            case .event(.overflow):
                lastScan = ContinuousClock.now - rescanInterval - .seconds(1)
            case .tick:
                if ContinuousClock.now - lastScan > rescanInterval {
                    lastScan = ContinuousClock.now
                    let names = (try? FileManager.default.contentsOfDirectory(atPath: inbox.directory)) ?? []
                    for name in names.sorted() where Self.isCandidate(name) && candidates[name] == nil {
                        observe(name, into: &candidates)
                    }
                }
                let now = ContinuousClock.now
                for (name, seen) in candidates.sorted(by: { $0.key < $1.key }) {
                    if let retryAfter = seen.retryAfter, now < retryAfter { continue }
                    guard let current = stat(name) else { candidates[name] = nil; continue }
                    if current.size != seen.size || current.modified != seen.modified {
                        candidates[name] = Observation(size: current.size, modified: current.modified, since: now)
                    } else if now - seen.since >= .seconds(inbox.stableSeconds) {
                        await take(name, candidates: &candidates)
                    }
                    if Task.isShuttingDownGracefully { break }
                }
            }
        }
    }

    static func isCandidate(_ name: String) -> Bool {
        !name.hasPrefix(".") && !name.hasSuffix(".tmp") && !name.hasSuffix(".part")
    }

    private func stat(_ name: String) -> (size: Int, modified: Date)? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: inbox.directory + "/" + name),
              attributes[.type] as? FileAttributeType == .typeRegular,
              let size = attributes[.size] as? Int, let modified = attributes[.modificationDate] as? Date else { return nil }
        return (size, modified)
    }

    private func observe(_ name: String, into candidates: inout [String: Observation]) {
        guard let current = stat(name) else { return }
        candidates[name] = Observation(size: current.size, modified: current.modified, since: ContinuousClock.now)
    }

    private func take(_ name: String, candidates: inout [String: Observation]) async {
        do {
            try await BlockingWork.run { [self] in try takeBlocking(name) }
            candidates[name] = nil
        } catch {
            // Full disk or queue: leave the file where it is and try again later.
            logger.warning("inbox file not taken yet", metadata: ["file": "\(name)", "error": "\(error)"])
            if var seen = candidates[name] ?? stat(name).map({ Observation(size: $0.size, modified: $0.modified, since: .now) }) {
                seen.retryAfter = ContinuousClock.now + .seconds(2)
                candidates[name] = seen
            }
        }
    }

    /// Enqueues (or refuses) one file, then moves it. Blocking.
    func takeBlocking(_ name: String) throws {
        let path = inbox.directory + "/" + name
        guard let size = stat(name)?.size else { return }  // gone already
        let prompt = intake.prompt(nil, sourceDefault: inbox.prompt)
        if size == 0 || size > maxImageBytes {
            let reason = size == 0 ? "the file is empty" : "the file has \(size) bytes, more than queue.max_image_bytes (\(maxImageBytes))"
            // Identity of a refused file: its name and size (its bytes may be huge or absent).
            let pseudo = Data("refused:\(name):\(size)".utf8)
            let target = inbox.failedDirectory + "/" + name
            let submission = intake.submission(kind: .file, source: inbox.source, prompt: prompt, data: pseudo,
                                               imagePath: target, owned: false)
            let outcome = try intake.queue.recordRejected(submission, error: reason)
            try moveIntoPlace(path, target: outcome.job.imagePath ?? target)
            logger.warning("inbox file refused", metadata: ["file": "\(name)", "reason": "\(reason)", "job": "\(outcome.job.id)"])
            return
        }
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let digest = ContentDigest.sha256Hex(data)
        let target = inbox.processedDirectory + "/\(digest.prefix(16))-\(name)"
        let submission = intake.submission(kind: .file, source: inbox.source, prompt: prompt, data: data, imagePath: target, owned: true)
        let outcome = try intake.queue.enqueue(submission)
        try moveIntoPlace(path, target: outcome.job.imagePath ?? target)
        intake.wakeWorkers()
        logger.debug("inbox file queued", metadata: ["file": "\(name)", "job": "\(outcome.job.id)"])
    }

    /// Moves the inbox file onto its job's path; if that already holds the same content (a
    /// duplicate submission, or a crash after an earlier move), the inbox copy is removed.
    private func moveIntoPlace(_ path: String, target: String) throws {
        if FileManager.default.fileExists(atPath: target) {
            try? FileManager.default.removeItem(atPath: path)
        } else {
            try DurableFiles.rename(from: path, to: target)
        }
    }
}
