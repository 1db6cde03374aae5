import Foundation
import JobQueue
import Logging
import ServiceLifecycle

/// Captures one camera on its interval (or only on demand when the interval is 0). A failed
/// capture is counted and logged with its error, and the next tick simply tries again. Captures
/// coalesce: only the newest frame of a camera waits in the queue.
final class CameraSource: Service {
    let camera: AgentConfiguration.Camera
    let capturer: any CameraCapture
    let intake: JobIntake
    let metrics: AgentMetrics
    let logger: Logger

    init(camera: AgentConfiguration.Camera, intake: JobIntake, metrics: AgentMetrics, logger: Logger) {
        self.camera = camera
        self.capturer = camera.makeCapture()
        self.intake = intake
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "source"] = "\(camera.name)"
        self.logger = logger
    }

    func run() async throws {
        guard camera.intervalSeconds > 0 else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let started = ContinuousClock.now
            _ = try? await captureOnce()
            let next = started + .seconds(camera.intervalSeconds)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(until: next, clock: .continuous) }
        }
    }

    /// Captures and enqueues one frame now (also used for on-demand captures from the API).
    /// Throws the capture or queue error after recording it.
    @discardableResult
    func captureOnce() async throws -> JobRecord {
        do {
            let data = try await withTimeout(seconds: camera.timeoutSeconds + 1) { [capturer] in try await capturer.capture() }
            let camera = camera, intake = intake
            let (outcome, superseded) = try await BlockingWork.run { try intake.submitCapture(data, camera: camera) }
            metrics.recordCapture(source: camera.name, error: nil)
            if superseded > 0 { logger.info("backlog: older frames replaced by the newest", metadata: ["replaced": "\(superseded)"]) }
            return outcome.job
        } catch {
            metrics.recordCapture(source: camera.name, error: "\(error)")
            logger.warning("capture failed; retrying next tick", metadata: ["error": "\(error)"])
            throw error
        }
    }

    private func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                throw AgentError(.capture, "capture did not finish within \(seconds) s")
            }
            defer { group.cancelAll() }
            guard let value = try await group.next() else { throw AgentError(.capture, "capture produced nothing") }
            return value
        }
    }
}
