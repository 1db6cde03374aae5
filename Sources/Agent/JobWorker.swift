import Foundation
import JobQueue
import Logging
import ServiceLifecycle

/// Runs jobs one at a time: claim with a lease, renew the lease while the engine works, store
/// the result or the failure. A bad image fails its job alone. On graceful shutdown it stops
/// claiming; a running job gets `stopGraceSeconds` to finish, else its lease is released and
/// the job returns to the queue without counting the attempt.
final class JobWorker: Service {
    let queue: JobQueue
    let engine: any CaptionEngine
    let configuration: AgentConfiguration
    let metrics: AgentMetrics
    let events: ResultEvents
    let signal: WorkSignal
    let owner: String
    let logger: Logger
    let stopGraceSeconds: Double
    /// Told about every job the engine ran: whether the engine failed it (a bad image is not the
    /// model's fault and is not reported) and the backend fallbacks it reported.
    let observe: @Sendable (_ failed: Bool, _ fallbacks: Int) -> Void

    init(index: Int, queue: JobQueue, engine: any CaptionEngine, configuration: AgentConfiguration, metrics: AgentMetrics,
         events: ResultEvents, signal: WorkSignal, stopGraceSeconds: Double, logger: Logger,
         observe: @escaping @Sendable (_ failed: Bool, _ fallbacks: Int) -> Void = { _, _ in }) {
        self.observe = observe
        self.queue = queue
        self.engine = engine
        self.configuration = configuration
        self.metrics = metrics
        self.events = events
        self.signal = signal
        self.owner = "pid\(ProcessInfo.processInfo.processIdentifier)-worker\(index)"
        self.stopGraceSeconds = stopGraceSeconds
        self.logger = logger
    }

    private struct ShutdownAbort: Error {}
    private struct JobTimeout: Error {}

    func run() async throws {
        let leaseSeconds = configuration.queue.leaseSeconds
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            metrics.touchLiveness()
            let lease: JobLease?
            do {
                lease = try await BlockingWork.run { [queue, owner] in try queue.claim(owner: owner, leaseSeconds: leaseSeconds) }
            } catch {
                logger.error("claim failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            guard let lease else {
                await signal.wait(timeout: .milliseconds(500))
                continue
            }
            await process(lease)
        }
    }

    private func process(_ lease: JobLease) async {
        let job = lease.job
        let log = logger.with(jobID: job.id)
        let start = ContinuousClock.now
        // Renew the lease every third of its length while the job runs.
        let heartbeat = Task { [queue, metrics, configuration] in
            let interval = configuration.queue.leaseSeconds / 3
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                if Task.isCancelled { break }
                metrics.touchLiveness()
                _ = try? await BlockingWork.run { try queue.heartbeat(lease, leaseSeconds: configuration.queue.leaseSeconds) }
            }
        }
        defer { heartbeat.cancel() }

        guard let path = job.imagePath, let data = FileManager.default.contents(atPath: path) else {
            // Usually the moment between an inbox commit and its rename; retried shortly.
            await finishFailure(lease, message: "image file \(job.imagePath ?? "(pruned)") is missing", retryable: true, log: log)
            return
        }
        do {
            let caption = try await runEngine(data: data, prompt: job.prompt)
            let seconds = (ContinuousClock.now - start).seconds
            var timings = caption.timings
            timings["total"] = seconds
            let result = JobResult(text: caption.text, tokens: caption.tokens, timings: timings, modelDigest: engine.modelDigest,
                                   imageDigest: ContentDigest.sha256Hex(data), placement: caption.placement)
            metrics.recordInference(seconds: seconds, tokens: caption.tokens, fallbacks: caption.backendFallbacks)
            observe(false, caption.backendFallbacks)
            await storeResult(lease, result: result, log: log)
        } catch is ShutdownAbort {
            log.notice("stopping: job returned to the queue")
            _ = try? await BlockingWork.run { [queue] in try queue.release(lease) }
        } catch is JobTimeout {
            observe(true, 0)
            await finishFailure(lease, message: "inference exceeded worker.job_timeout_seconds (\(configuration.worker.jobTimeoutSeconds) s)",
                                retryable: true, log: log)
        } catch let failure as CaptionFailure {
            if case .badInput = failure {
                await finishFailure(lease, message: failure.message, retryable: false, log: log)
            } else {
                observe(true, 0)
                await finishFailure(lease, message: failure.message, retryable: true, log: log)
            }
        } catch {
            observe(true, 0)
            await finishFailure(lease, message: "\(error)", retryable: true, log: log)
        }
    }

    /// Races the engine against the job timeout and against the shutdown grace period.
    private func runEngine(data: Data, prompt: String) async throws -> CaptionResult {
        let timeout = configuration.worker.jobTimeoutSeconds
        let grace = stopGraceSeconds
        return try await withThrowingTaskGroup(of: CaptionResult.self) { group in
            group.addTask { [engine] in try await engine.caption(image: data, prompt: prompt) }
            group.addTask {
                try await Task.sleep(for: .seconds(timeout))
                throw JobTimeout()
            }
            group.addTask {
                try await gracefulShutdown()
                try await Task.sleep(for: .seconds(grace))
                throw ShutdownAbort()
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw JobTimeout() }
            return first
        }
    }

    /// Stores the result; on a full disk keeps retrying while the lease is renewed, so a finished
    /// inference is not thrown away (the job re-runs only if the lease is lost).
    private func storeResult(_ lease: JobLease, result: JobResult, log: Logger) async {
        let deadline = ContinuousClock.now + .seconds(configuration.queue.leaseSeconds)
        while true {
            do {
                let job = try await BlockingWork.run { [queue] in try queue.complete(lease, result: result) }
                metrics.recordOutcome("done")
                events.publish(job)
                log.info("done", metadata: ["tokens": "\(result.tokens)", "seconds": "\(result.timings["total"] ?? 0)"])
                return
            } catch let error as JobQueueError where (error.kind == .diskFull || error.kind == .busy) && ContinuousClock.now < deadline {
                log.warning("cannot store the result yet; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            } catch {
                log.error("result not stored; the job will run again", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    private func finishFailure(_ lease: JobLease, message: String, retryable: Bool, log: Logger) async {
        do {
            let job = try await BlockingWork.run { [queue] in try queue.fail(lease, error: message, retryable: retryable) }
            switch job.state {
            case .queued: metrics.recordOutcome("retried")
            case .dead: metrics.recordOutcome("dead"); events.publish(job)
            default: metrics.recordOutcome("failed"); events.publish(job)
            }
            log.warning("job failed", metadata: ["error": "\(message)", "state": "\(job.state.rawValue)"])
        } catch {
            log.error("could not record the failure; the lease will expire", metadata: ["error": "\(error)"])
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Logger {
    func with(jobID: Int64) -> Logger {
        var copy = self
        copy[metadataKey: "job"] = "\(jobID)"
        return copy
    }
}
