import Foundation
import Logging
import ServiceLifecycle

/// Feeds the open `ModelHealthWatch` with the jobs the worker finishes (its observer hook) and,
/// when the window judges the new model unhealthy, switches back to the previous model and
/// stops the agent so it starts again on it (like a switch forward: systemd's
/// `Restart=on-failure`). The worker knows nothing about slots: it only calls `jobFinished`.
final class ModelHealthMonitor: Service, @unchecked Sendable {
    // @unchecked: `watch` is only touched under `lock`.
    private let lock = NSLock()
    private var watch: ModelHealthWatch?
    private let store: ModelStore
    private let logger: Logger
    private let breaches: AsyncStream<String>
    private let breach: AsyncStream<String>.Continuation

    /// Thrown (ending the service group) after the switch back, to restart on the previous model.
    struct RestartForPreviousModel: Error, CustomStringConvertible {
        var digest: String
        var reason: String
        var description: String { "switched back from model \(digest) (\(reason)); the agent restarts to load the previous model" }
    }

    /// The monitor for the store's open watch when it watches the active model, else nil (a
    /// watch left for another model is stale and removed).
    static func resume(store: ModelStore, logger: Logger) -> ModelHealthMonitor? {
        guard let watch = ModelHealthWatch.load(in: store.root) else { return nil }
        guard store.activeModel()?.record.modelDigest == watch.modelDigest else {
            ModelHealthWatch.close(in: store.root)
            return nil
        }
        return ModelHealthMonitor(watch: watch, store: store, logger: logger)
    }

    init(watch: ModelHealthWatch, store: ModelStore, logger: Logger) {
        self.watch = watch
        self.store = store
        self.logger = logger
        (breaches, breach) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The worker's hook: one finished job of the running model. `failed` is an engine failure
    /// (not a bad image), `fallbacks` the backend fallbacks the job reported.
    func jobFinished(failed: Bool, fallbacks: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard var current = watch else { return }
        let verdict = current.window.record(failed: failed, fallbacks: fallbacks)
        switch verdict {
        case .watching:
            watch = current
            do { try current.save(in: store.root) } catch {
                logger.warning("cannot save the health window", metadata: ["error": "\(error)"])
            }
        case .healthy:
            watch = nil
            ModelHealthWatch.close(in: store.root)
            logger.notice("model healthy after the switch", metadata: ["digest": "\(current.modelDigest)",
                                                                       "jobs": "\(current.window.seen)"])
        case .unhealthy(let reason):
            watch = nil
            // The switch back happens in `run`, off the worker.
            pendingSwitch = current
            breach.yield("\(reason); model \(current.modelDigest)")
        }
    }

    private var pendingSwitch: ModelHealthWatch?

    func run() async throws {
        for await reason in breaches.cancelOnGracefulShutdown() {
            let pending: ModelHealthWatch? = lock.withLock { pendingSwitch }
            guard let pending else { continue }
            let started = ContinuousClock.now
            do {
                try pending.switchBack(store: store, reason: reason)
            } catch {
                logger.error("cannot switch back to the previous model", metadata: ["digest": "\(pending.modelDigest)",
                                                                                     "error": "\(error)"])
                continue
            }
            logger.notice("model unhealthy after the switch: switched back", metadata: [
                "digest": "\(pending.modelDigest)", "previous": "\(pending.previousDigest.isEmpty ? "[model]" : pending.previousDigest)",
                "reason": "\(reason)", "switch_ms": "\((ContinuousClock.now - started).seconds * 1000)"])
            throw RestartForPreviousModel(digest: pending.modelDigest, reason: reason)
        }
    }
}
