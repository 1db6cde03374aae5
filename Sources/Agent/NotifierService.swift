import Foundation
import JobQueue
import Logging
import ServiceLifecycle

/// Keeps systemd informed: `READY=1` once the services run (the model is already loaded),
/// `WATCHDOG=1` at half the watchdog interval but only while the worker shows progress (a hung
/// worker lets systemd restart the agent), `STATUS=` with the queue depth, `STOPPING=1` at
/// shutdown, when it also ends the `/v1/events` streams.
final class NotifierService: Service {
    let notifier: SystemdNotifier
    let queue: JobQueue
    let metrics: AgentMetrics
    let events: ResultEvents
    let logger: Logger
    /// The worker counts as alive while its last progress is younger than this.
    let livenessLimitSeconds: Double

    init(notifier: SystemdNotifier, queue: JobQueue, metrics: AgentMetrics, events: ResultEvents, livenessLimitSeconds: Double,
         logger: Logger) {
        self.notifier = notifier
        self.queue = queue
        self.metrics = metrics
        self.events = events
        self.livenessLimitSeconds = livenessLimitSeconds
        self.logger = logger
    }

    func run() async throws {
        do { try notifier.ready(status: try status()) } catch { logger.error("sd_notify READY failed", metadata: ["error": "\(error)"]) }
        let period: Duration = notifier.watchdogInterval.map { $0 / 2 } ?? .seconds(10)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var messages: [String] = []
            if let text = try? status() { messages.append("STATUS=\(text)") }
            if notifier.watchdogInterval != nil {
                if metrics.secondsSinceLiveness < livenessLimitSeconds {
                    messages.append("WATCHDOG=1")
                } else {
                    logger.error("worker shows no progress; withholding the watchdog ping",
                                 metadata: ["seconds": "\(metrics.secondsSinceLiveness)"])
                }
            }
            try? notifier.send(messages)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: period) }
        }
        try? notifier.send(["STOPPING=1", "STATUS=stopping: finishing or requeueing the running job"])
        // End open event streams, or the HTTP server would wait for them forever. This service
        // is last in the group, so it stops first.
        events.finishAll()
    }

    private func status() throws -> String {
        let counts = try queue.stateCounts()
        return "queued \(counts[.queued]), running \(counts[.running]), done \(counts[.done]), failed \(counts[.failed]), dead \(counts[.dead])"
    }
}

/// Prunes finished jobs and stored images on an interval.
final class RetentionService: Service {
    let queue: JobQueue
    let retention: AgentConfiguration.Retention
    let logger: Logger

    init(queue: JobQueue, retention: AgentConfiguration.Retention, logger: Logger) {
        self.queue = queue
        self.retention = retention
        self.logger = logger
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let retention = retention, queue = queue
            do {
                let report = try await BlockingWork.run {
                    try queue.prune(maxAgeSeconds: retention.maxAgeHours > 0 ? retention.maxAgeHours * 3600 : nil,
                                    maxImageBytes: retention.maxImageMiB > 0 ? Int64(retention.maxImageMiB) * 1024 * 1024 : nil,
                                    requireAcknowledged: retention.requireSynced)
                }
                if report.deletedJobs + report.deletedImages > 0 {
                    logger.info("retention", metadata: ["jobs": "\(report.deletedJobs)", "images": "\(report.deletedImages)"])
                }
            } catch {
                logger.warning("retention pass failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(retention.intervalSeconds)) }
        }
    }
}
