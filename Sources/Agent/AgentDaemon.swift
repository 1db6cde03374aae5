#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JobQueue
import Logging
import ServiceLifecycle

/// Builds and runs the agent: takes the state directory's lock, opens the queue (migrating and
/// recovering crashed jobs), loads the engine while asking systemd for time, then runs every
/// service in one `ServiceGroup` until SIGTERM/SIGINT, and closes the database cleanly.
public struct AgentDaemon: Sendable {
    public var configuration: AgentConfiguration
    public var notifier: SystemdNotifier
    /// How long a running job may take to finish after SIGTERM before it is requeued (keep it
    /// below systemd's TimeoutStopSec).
    public var stopGraceSeconds: Double
    public var logger: Logger
    /// Reported to the coordinator at enrollment and in heartbeats.
    public var agentVersion: String

    public init(configuration: AgentConfiguration, notifier: SystemdNotifier, stopGraceSeconds: Double = 20,
                agentVersion: String = "0.1.0", logger: Logger) {
        self.configuration = configuration
        self.notifier = notifier
        self.stopGraceSeconds = stopGraceSeconds
        self.agentVersion = agentVersion
        self.logger = logger
    }

    /// Runs until a termination signal. `loadEngine` is called once (with EXTEND_TIMEOUT pings
    /// while it runs). Throws `AgentError` (`.alreadyRunning`, `.engineUnavailable`, `.io`) or
    /// `JobQueueError` (`.notADatabase`, `.schemaTooNew`...) before any service starts.
    public func run(loadEngine: @escaping @Sendable () async throws -> any CaptionEngine) async throws {
        let c = configuration
        try DurableFiles.makeDirectory(c.state.directory)
        let lock = try StateLock(path: c.lockPath)
        defer { lock.release() }

        let queueConfiguration = JobQueueConfiguration(
            retry: JobRetryPolicy(maxAttempts: c.queue.maxAttempts, baseDelaySeconds: c.queue.retryBaseSeconds,
                                  maxDelaySeconds: c.queue.retryMaxSeconds),
            maxPendingJobs: c.queue.maxPendingJobs)
        let queue = try await BlockingWork.run { try JobQueue(path: c.databasePath, configuration: queueConfiguration) }
        defer { queue.close() }
        if c.queue.maxDatabaseMiB > 0 {
            let pageSize = 4096
            try queue.setMaxPageCount(c.queue.maxDatabaseMiB * 1024 * 1024 / pageSize)
        }
        // A model switch or install cut short by a crash or power loss: repaired before the
        // engine reads the active slot (under the lock, so no other agent is mid-step).
        if let store = try? ModelStore(root: c.modelsDirectory) {
            let repair = try store.recover()
            if repair != ModelStore.Recovery() {
                logger.notice("model store repaired after an interrupted step", metadata: [
                    "cleared_slots": "\(repair.clearedSlots.map(\.rawValue))", "removed_pending_switch": "\(repair.removedPendingSwitch)",
                    "repaired_active": "\(repair.repairedActive)"])
            }
            if try InterruptedSwitch.complete(store: store, assignment: try? ModelUpdateSetup.recordedAssignment(c), models: c.models) {
                logger.notice("finished a model switch interrupted after the link was renamed",
                              metadata: ["digest": "\(store.activeModel()?.record.modelDigest ?? "")"])
            }
        }
        let recovered = try await BlockingWork.run { try queue.reclaimAllRunning() }
        if !recovered.isEmpty { logger.notice("recovered jobs interrupted by the last stop", metadata: ["count": "\(recovered.count)"]) }

        let engine = try await loadWithExtendedTimeout(loadEngine)
        logger.info("engine ready", metadata: ["model": "\(engine.modelDigest)"])

        let metrics = AgentMetrics()
        let events = ResultEvents()
        let signal = WorkSignal()
        let intake = JobIntake(queue: queue, modelDigest: engine.modelDigest, configuration: c, wakeWorkers: { signal.signal() })
        var services: [any Service] = []
        // After a switch the new model's jobs feed its health window (switch back on breach).
        let health = (try? ModelStore(root: c.modelsDirectory)).flatMap { ModelHealthMonitor.resume(store: $0, logger: logger) }
        if let health { services.append(health) }
        for index in 0..<c.worker.concurrency {
            services.append(JobWorker(index: index, queue: queue, engine: engine, configuration: c, metrics: metrics, events: events,
                                      signal: signal, stopGraceSeconds: stopGraceSeconds, logger: logger,
                                      observe: { failed, fallbacks in health?.jobFinished(failed: failed, fallbacks: fallbacks) }))
        }
        if c.inbox.enabled { services.append(InboxSource(intake: intake, configuration: c, logger: logger)) }
        var cameras: [String: CameraSource] = [:]
        for camera in c.cameras {
            let source = CameraSource(camera: camera, intake: intake, metrics: metrics, logger: logger)
            cameras[camera.name] = source
            services.append(source)
        }
        services.append(RetentionService(queue: queue, retention: c.retention, logger: logger))
        let syncStatus = SyncStatusBoard(enabled: c.sync.enabled)
        if c.sync.enabled {
            services.append(SyncService(configuration: c, queue: queue, events: events, board: syncStatus,
                                        agentVersion: agentVersion, activeModelDigest: engine.modelDigest,
                                        backendHealth: { engine.backendHealth() }, logger: logger))
        }
        if c.sync.enabled && !c.models.artifactURL.isEmpty {
            services.append(ModelUpdateService(configuration: c, pollSeconds: max(1, c.sync.pollIntervalSeconds), logger: logger))
        }
        if c.api.enabled {
            try DurableFiles.makeDirectory((c.api.socket as NSString).deletingLastPathComponent)
            let api = LocalAPI(intake: intake, metrics: metrics, events: events, cameras: cameras, syncStatus: syncStatus,
                               configuration: c, logger: logger)
            services.append(api.makeApplication())
        }
        let liveness = max(c.queue.leaseSeconds, notifier.watchdogInterval.map { $0.seconds } ?? 0)
        services.append(NotifierService(notifier: notifier, queue: queue, metrics: metrics, events: events,
                                             livenessLimitSeconds: liveness, logger: logger))

        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        defer { events.finishAll() }
        try await group.run()
        logger.info("agent stopped cleanly")
    }

    private func loadWithExtendedTimeout(_ load: @escaping @Sendable () async throws -> any CaptionEngine) async throws -> any CaptionEngine {
        let notifier = notifier
        let pinger = Task {
            while !Task.isCancelled {
                try? notifier.send(["EXTEND_TIMEOUT_USEC=30000000", "STATUS=loading the model"])
                try? await Task.sleep(for: .seconds(10))
            }
        }
        defer { pinger.cancel() }
        return try await load()
    }
}

/// An exclusive `flock` on the state directory's lock file: one agent per state directory, so
/// at start-up every `running` job is known to be an orphan of a dead process. The `edgevlm
/// models` commands that change the store take it too, so they never race a running agent.
public struct StateLock: Sendable {
    let fd: Int32

    /// Takes the lock without waiting. Throws `AgentError(.alreadyRunning)` when another
    /// process holds it, `.io` when the file cannot be opened.
    public init(path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AgentError(.io, "cannot open the lock file: \(String(cString: strerror(errno)))", path: path) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw AgentError(.alreadyRunning, "another edgevlm agent uses this state directory", path: path)
        }
    }

    /// Releases the lock (also released when the process ends).
    public func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
