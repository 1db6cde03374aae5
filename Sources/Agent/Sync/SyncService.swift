import FleetProtocol
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import JobQueue
import Logging
import ServiceLifecycle

/// The agent's link to the fleet coordinator (`[sync] enabled = true`):
///
/// 1. enrolls once with the enrollment token and keeps the device id + credential in
///    `<state>/sync/identity.json` (0600); it never enrolls again while that file exists;
/// 2. heartbeats every poll interval (the coordinator's `poll_interval_seconds` once known) with
///    queue depth, outbox backlog, active model digest, free disk, agent version and clock, and
///    records the desired model in `<state>/sync/desired-model.json`;
/// 3. uploads `done` results from the outbox in batches and marks exactly the acknowledged
///    seqs, so the coordinator (which dedups by device and seq) sees each result once, across
///    kill -9 of the agent and restarts of the coordinator; each round is one `Sync` call
///    (status + the first batch; the heartbeat timer restarts from it), or Heartbeat +
///    UploadResults when the coordinator predates `Sync`;
/// 4. wakes early when a job finishes, at most once per `min_upload_interval_seconds`;
/// 5. after a transport failure waits with exponential backoff and full jitter; after the
///    coordinator refuses the device (revoked credential, bad token) waits
///    `refused_retry_seconds` and says so in the log and in `GET /v1/sync`;
/// 6. uploads results only inside `[sync] windows` (heartbeats go on outside them; results wait
///    in the outbox) and, with `metered = true`, in batches of at most 20, at most every 5 minutes.
/// Local captioning never depends on any of this.
public struct SyncService: Service {
    let sync: AgentConfiguration.Sync
    let syncDirectory: String
    let queue: JobQueue
    let events: ResultEvents
    let board: SyncStatusBoard
    let timeFloor: SyncTimeFloor
    /// Compressed uploads until the coordinator refuses them.
    let uploadEncoding = SyncUploadEncoding()
    /// One `Sync` call per heartbeat until the coordinator says it has none.
    let syncCall = SyncCallSupport()
    let agentVersion: String
    let activeModelDigest: String
    /// The engine's accelerator counters, read at each heartbeat.
    let backendHealth: @Sendable () -> [EngineBackendHealth]
    let stateDirectory: String
    let logger: Logger

    /// `events` wakes the uploader; `board` receives the status for the local API.
    public init(configuration: AgentConfiguration, queue: JobQueue, events: ResultEvents, board: SyncStatusBoard,
                agentVersion: String, activeModelDigest: String,
                backendHealth: @escaping @Sendable () -> [EngineBackendHealth] = { [] }, logger: Logger) {
        sync = configuration.sync
        syncDirectory = configuration.syncDirectory
        stateDirectory = configuration.state.directory
        self.queue = queue
        self.events = events
        self.board = board
        self.timeFloor = SyncTimeFloor(path: configuration.syncDirectory + "/time-floor")
        self.agentVersion = agentVersion
        self.activeModelDigest = activeModelDigest
        self.backendHealth = backendHealth
        self.logger = logger
    }

    /// Runs until graceful shutdown and never ends the agent: coordinator trouble is retried,
    /// and a sync directory that cannot be used (unreadable or damaged identity) is logged and
    /// shown in the status while captioning goes on.
    public func run() async throws {
        let stored: SyncIdentity?
        let policy: SyncLinkPolicy
        do {
            policy = try SyncLinkPolicy(sync: sync)
            try DurableFiles.makeDirectory(syncDirectory)
            stored = try SyncIdentity.load(from: syncDirectory)
        } catch {
            logger.critical("sync cannot start; captioning continues without it", metadata: ["error": "\(error)"])
            board.update {
                $0.lastError = "\(error)"
                $0.refused = true
            }
            // Returning would stop the whole service group: wait for the agent's shutdown instead.
            try? await gracefulShutdown()
            return
        }
        board.update {
            $0.deviceID = stored?.deviceID
            $0.desiredModelDigest = SyncDesiredModel.storedDigest(in: syncDirectory)
            $0.pollIntervalSeconds = sync.pollIntervalSeconds
        }
        let wake = WorkSignal()
        let stream = events.subscribe()
        try await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in stream { wake.signal() }
                }
                var identity = stored
                var schedule = SyncSchedule(sync: sync)
                while !Task.isCancelled {
                    let outcome = await session(identity: &identity, schedule: &schedule, policy: policy, wake: wake)
                    guard !Task.isCancelled else { break }
                    let delay = schedule.delay(after: outcome)
                    logger.debug("sync session ended", metadata: ["retry_in_s": "\(delay)"])
                    try? await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
                }
                group.cancelAll()
            }
        }
    }

    /// One connection: enroll if needed, then heartbeat/upload until a call fails. Returns why it ended.
    private func session(identity: inout SyncIdentity?, schedule: inout SyncSchedule, policy: SyncLinkPolicy,
                         wake: WorkSignal) async -> SyncSessionOutcome {
        let transport: HTTP2ClientTransport.Posix
        do { transport = try SyncTransport.make(sync, timeFloor: timeFloor) } catch {
            return fail(.refused, "\(error)")
        }
        let start = identity
        let result: (SyncSessionOutcome, SyncIdentity?, SyncSchedule)
        do {
            result = try await withGRPCClient(transport: transport) { client in
                var identity = start
                var schedule = schedule
                let outcome = await connected(client: FleetDeviceService.Client(wrapping: client), identity: &identity,
                                              schedule: &schedule, policy: policy, wake: wake)
                return (outcome, identity, schedule)
            }
        } catch {
            return fail(.transient, "connection to \(sync.coordinator) failed: \(error)")
        }
        identity = result.1
        schedule = result.2
        return result.0
    }

    private func connected(client: FleetDeviceService.Client<HTTP2ClientTransport.Posix>, identity: inout SyncIdentity?,
                           schedule: inout SyncSchedule, policy: SyncLinkPolicy, wake: WorkSignal) async -> SyncSessionOutcome {
        var options = CallOptions.defaults
        options.timeout = .milliseconds(Int64(sync.requestTimeoutSeconds * 1000))
        options.waitForReady = false
        do {
            let current: SyncIdentity
            if let identity {
                current = identity
            } else {
                current = try await enroll(client, options: options)
                identity = current
            }
            let auth = FleetAuthorization.metadata(bearer: current.credential)
            var nextHeartbeat = ContinuousClock.now
            var lastUpload: ContinuousClock.Instant?
            while !Task.isCancelled {
                // Outside every window only heartbeats go out; results wait in the outbox.
                let wallNow = Date()
                let opening = policy.windows.nextOpening(after: wallNow)
                let windowOpen = opening <= wallNow
                // On a metered link even heartbeat-driven uploads keep the longer spacing.
                let spacingDone = lastUpload.map { ContinuousClock.now - $0 >= .milliseconds(Int64(policy.minUploadIntervalSeconds * 1000)) } ?? true
                let uploadAllowed = windowOpen && (!policy.metered || spacingDone)
                // With `Sync` an upload is a heartbeat too: one call per round, and the heartbeat
                // timer starts again from it.
                if ContinuousClock.now >= nextHeartbeat || (uploadAllowed && syncCall.isAvailable) {
                    let interval = try await heartbeat(client, auth: auth, identity: current, options: options,
                                                       carryingUpTo: uploadAllowed ? policy.batchSize : 0)
                    schedule.pollIntervalSeconds = interval
                    nextHeartbeat = ContinuousClock.now + .milliseconds(Int64(interval * 1000))
                }
                if uploadAllowed {
                    lastUpload = .now
                    // The rest of the outbox (the heartbeat carried the first batch).
                    try await uploadPending(client, auth: auth, options: options, batchSize: policy.batchSize)
                }
                schedule.succeeded()
                board.update {
                    $0.lastSuccessUnixMs = timeFloor.nowMs()
                    $0.lastError = nil
                    $0.refused = false
                    $0.nextUploadWindowUnixMs = windowOpen ? nil : Int64(opening.timeIntervalSince1970 * 1000)
                }
                var until = nextHeartbeat
                if !windowOpen {
                    until = min(until, ContinuousClock.now + .milliseconds(Int64(opening.timeIntervalSince(wallNow) * 1000) + 1))
                }
                await waitForWork(until: until, lastUpload: lastUpload, minUploadIntervalSeconds: policy.minUploadIntervalSeconds,
                                  wake: wake)
            }
            return .stopped
        } catch let error as RPCError {
            switch error.code {
            case .unauthenticated, .permissionDenied:
                let what = identity == nil
                    ? "the coordinator refused the enrollment token (\(error.message)); set a valid [sync] enrollment_token"
                    : "the coordinator refused this device's credential (\(error.message)): the device was revoked or is unknown; "
                        + "captioning continues locally; to rejoin, an operator must re-enroll it (remove \(SyncIdentity.path(in: syncDirectory)) and give a new token)"
                return fail(.refused, what)
            default:
                return fail(.transient, "coordinator call failed: \(error.code): \(error.message)")
            }
        } catch let error as SyncRoundError {
            return fail(error.outcome, error.message)
        } catch {
            return fail(.transient, "\(error)")
        }
    }

    private func fail(_ outcome: SyncSessionOutcome, _ message: String) -> SyncSessionOutcome {
        // A call cut short by shutdown is not a sync failure.
        if Task.isCancelled { return .stopped }
        if outcome == .refused {
            logger.error("sync refused", metadata: ["reason": "\(message)"])
        } else {
            logger.warning("sync failed; retrying with backoff", metadata: ["reason": "\(message)"])
        }
        if timeFloor.systemClockIsBehind() {
            logger.warning("the system clock is behind the coordinator's time; TLS certificate checks may fail until it is set (enable NTP)",
                           metadata: ["system_ms": "\(Int64(Date().timeIntervalSince1970 * 1000))", "floor_ms": "\(timeFloor.floorNowMs)"])
        }
        board.update {
            $0.lastError = message
            $0.refused = outcome == .refused
        }
        return outcome
    }

    /// Sleeps until the next heartbeat, or until a finished job wakes it, but not sooner than
    /// `min_upload_interval_seconds` after the last upload.
    private func waitForWork(until deadline: ContinuousClock.Instant, lastUpload: ContinuousClock.Instant?,
                             minUploadIntervalSeconds: Double, wake: WorkSignal) async {
        let remaining = deadline - .now
        guard remaining > .zero else { return }
        await wake.wait(timeout: remaining)
        guard !Task.isCancelled, let lastUpload else { return }
        let earliest = lastUpload + .milliseconds(Int64(minUploadIntervalSeconds * 1000))
        let until = min(earliest, deadline)
        if until > .now { try? await Task.sleep(until: until, clock: .continuous) }
    }

    // MARK: calls

    private func enroll(_ client: FleetDeviceService.Client<HTTP2ClientTransport.Posix>, options: CallOptions) async throws -> SyncIdentity {
        let token = try enrollmentToken()
        var request = Edgevlm_Fleet_V1_EnrollRequest()
        request.enrollmentToken = token
        request.hardwareID = hardwareID()
        request.name = sync.deviceName
        request.agentVersion = agentVersion
        let response = try await client.enroll(request, options: options)
        timeFloor.observe(serverTimeMs: response.serverTimeUnixMs)
        let identity = SyncIdentity(deviceID: response.deviceID, credential: response.credential,
                                    enrolledAtUnixMs: response.serverTimeUnixMs)
        do { try identity.save(to: syncDirectory) } catch {
            // The credential exists only in memory now; say so loudly (the operator can revoke it).
            logger.critical("enrolled but could not store the credential; the next start will need a new token",
                            metadata: ["device_id": "\(identity.deviceID)", "error": "\(error)"])
        }
        logger.notice("enrolled with the coordinator", metadata: ["device_id": "\(identity.deviceID)", "tags": "\(response.tags)"])
        board.update { $0.deviceID = identity.deviceID }
        return identity
    }

    /// Sends the status, with up to `carryingUpTo` outbox results in the same `Sync` call when the
    /// coordinator has it (else a plain Heartbeat; the uploader sends the results); records the
    /// desired state; returns the poll interval to use (seconds). Throws `SyncRoundError` when
    /// fewer results were acknowledged than sent.
    private func heartbeat(_ client: FleetDeviceService.Client<HTTP2ClientTransport.Posix>, auth: Metadata,
                           identity: SyncIdentity, options: CallOptions, carryingUpTo limit: Int) async throws -> Double {
        let queue = queue
        let (counts, backlog) = try await BlockingWork.run { (try queue.stateCounts(), try queue.unacknowledgedOutboxCount()) }
        var status = FleetDeviceStatus()
        status.agentVersion = agentVersion
        status.slots = ModelSlotsReport.slots(modelsDirectory: stateDirectory + "/models", runningDigest: activeModelDigest)
        status.queueDepth = UInt32(clamping: counts[.queued] + counts[.running])
        status.outboxDepth = UInt32(clamping: backlog)
        status.diskFreeBytes = UInt64(max(0, DurableFiles.freeBytes(at: stateDirectory) ?? 0))
        status.backends = backendHealth().map { health in
            var backend = FleetBackendHealth()
            backend.name = health.name
            backend.healthy = health.healthy
            backend.fallbackCount = UInt64(max(0, health.fallbacks))
            backend.lastError = health.lastError
            return backend
        }
        // The raw device clock: the coordinator compares it with its own to spot skew.
        status.deviceTimeUnixMs = Int64(Date().timeIntervalSince1970 * 1000)
        var carried: (sent: [FleetResult], response: Edgevlm_Fleet_V1_SyncResponse)?
        if syncCall.isAvailable {
            let results = limit > 0 ? try await nextOutboxBatch(limit: limit) : []
            if let response = try await sync(client, deviceID: identity.deviceID, status: status, results: results,
                                             auth: auth, options: options) {
                carried = (results, response)
            }
        }
        let desired: FleetDesiredState
        if let carried {
            desired = carried.response.desired
        } else {
            var request = Edgevlm_Fleet_V1_HeartbeatRequest()
            request.deviceID = identity.deviceID
            request.status = status
            desired = try await client.heartbeat(request, metadata: auth, options: options).desired
        }
        try await ModelSlotsReport.deliverPending(client, deviceID: identity.deviceID, auth: auth, options: options,
                                                  modelsDirectory: stateDirectory + "/models")
        timeFloor.observe(serverTimeMs: desired.serverTimeUnixMs)
        if desired.hasModel {
            if try SyncDesiredModel.record(desired.model, in: syncDirectory) {
                logger.notice("the coordinator assigned a model", metadata: ["digest": "\(desired.model.modelDigest)",
                                                                            "rollout": "\(desired.model.rolloutID)"])
            }
        }
        let interval = desired.pollIntervalSeconds > 0 ? Double(desired.pollIntervalSeconds) : sync.pollIntervalSeconds
        board.update {
            $0.outboxBacklog = backlog
            $0.pollIntervalSeconds = interval
            if desired.hasModel { $0.desiredModelDigest = desired.model.modelDigest }
        }
        if let carried, !carried.sent.isEmpty {
            try await acknowledge(sent: carried.sent, acked: carried.response.ackedSeqs, inserted: carried.response.inserted)
        }
        return interval
    }

    /// One `Sync` call; nil when the coordinator has no `Sync` (then the caller heartbeats the
    /// old way and the results stay in the outbox for the uploader).
    private func sync(_ client: FleetDeviceService.Client<HTTP2ClientTransport.Posix>, deviceID: String,
                      status: FleetDeviceStatus, results: [FleetResult], auth: Metadata,
                      options: CallOptions) async throws -> Edgevlm_Fleet_V1_SyncResponse? {
        var request = Edgevlm_Fleet_V1_SyncRequest()
        request.deviceID = deviceID
        request.status = status
        request.results = results
        var options = options
        // Compressed when it carries results, as uploads are (`SyncUploadEncoding`).
        options.compression = results.isEmpty ? CompressionAlgorithm.none : uploadEncoding.compression
        do {
            return try await client.sync(request, metadata: auth, options: options)
        } catch let error as RPCError where error.code == .unimplemented {
            // UNIMPLEMENTED means either "no such method" (a coordinator older than Sync) or "not
            // that compression": an uncompressed retry tells which.
            if let sentWith = options.compression, sentWith != .none {
                options.compression = CompressionAlgorithm.none
                do {
                    let response = try await client.sync(request, metadata: auth, options: options)
                    if uploadEncoding.fallBackIfRefused(error, sentWith: sentWith) {
                        logger.notice("the coordinator does not accept compressed uploads; sending them uncompressed",
                                      metadata: ["reply": "\(error.message)"])
                    }
                    return response
                } catch let retry as RPCError where syncCall.noteRefused(retry) {
                    logger.notice("the coordinator has no Sync call; using Heartbeat + UploadResults", metadata: ["reply": "\(retry.message)"])
                    return nil
                }
            }
            _ = syncCall.noteRefused(error)
            logger.notice("the coordinator has no Sync call; using Heartbeat + UploadResults", metadata: ["reply": "\(error.message)"])
            return nil
        }
    }

    /// The next outbox batch to upload (at most `limit`), [] when the outbox is empty. Entries
    /// that are not results (failed or dead jobs) leave the outbox here without an upload.
    private func nextOutboxBatch(limit: Int) async throws -> [FleetResult] {
        let queue = queue
        while !Task.isCancelled {
            let entries = try await BlockingWork.run { try queue.unacknowledgedOutbox(afterSequence: 0, limit: limit) }
            guard !entries.isEmpty else { return [] }
            let results = entries.compactMap(SyncResultMapping.fleetResult)
            let local = entries.map(\.sequence).filter { sequence in !results.contains { $0.seq == UInt64(sequence) } }
            if !local.isEmpty {
                try await BlockingWork.run { try queue.acknowledgeOutbox(sequences: local) }
            }
            if !results.isEmpty { return results }
        }
        return []
    }

    /// Marks exactly the acknowledged seqs of `sent` in the outbox and updates the status. Throws
    /// `SyncRoundError` when fewer were acknowledged than sent (the rest are retried after backoff).
    private func acknowledge(sent results: [FleetResult], acked ackedSeqs: [UInt64], inserted: UInt32) async throws {
        let queue = queue
        let sent = Set(results.map(\.seq))
        let acked = ackedSeqs.filter { sent.contains($0) }.map { Int64($0) }
        try await BlockingWork.run { try queue.acknowledgeOutbox(sequences: acked) }
        let backlog = try await BlockingWork.run { try queue.unacknowledgedOutboxCount() }
        board.update {
            $0.uploadedSinceStart += Set(acked).count
            $0.outboxBacklog = backlog
        }
        logger.debug("uploaded results", metadata: ["sent": "\(sent.count)", "acked": "\(acked.count)", "new": "\(inserted)"])
        if Set(acked).count < sent.count {
            throw SyncRoundError(outcome: .transient,
                                 message: "the coordinator acknowledged \(Set(acked).count) of \(sent.count) results; the rest are retried")
        }
    }

    /// Uploads outbox batches until the outbox is empty. Throws `SyncRoundError` when the
    /// coordinator acknowledges less than it was sent (the rest is retried after backoff).
    private func uploadPending(_ client: FleetDeviceService.Client<HTTP2ClientTransport.Posix>, auth: Metadata,
                               options: CallOptions, batchSize limit: Int) async throws {
        // Result batches are text and ids that gzip to a fraction (BENCHMARKS.md, Coordinator);
        // a coordinator that refuses compression gets them uncompressed (`SyncUploadEncoding`).
        var options = options
        while !Task.isCancelled {
            let results = try await nextOutboxBatch(limit: limit)
            guard !results.isEmpty else { break }
            var request = Edgevlm_Fleet_V1_UploadResultsRequest()
            request.results = results
            options.compression = uploadEncoding.compression
            let response: Edgevlm_Fleet_V1_UploadResultsResponse
            do {
                response = try await client.uploadResults(request, metadata: auth, options: options)
            } catch let error as RPCError where uploadEncoding.fallBackIfRefused(error, sentWith: options.compression ?? .none) {
                logger.notice("the coordinator does not accept compressed uploads; sending them uncompressed",
                              metadata: ["reply": "\(error.message)"])
                options.compression = .none
                response = try await client.uploadResults(request, metadata: auth, options: options)
            }
            timeFloor.observe(serverTimeMs: response.serverTimeUnixMs)
            try await acknowledge(sent: results, acked: response.ackedSeqs, inserted: response.inserted)
        }
    }

    private func enrollmentToken() throws -> String {
        if !sync.enrollmentToken.isEmpty { return sync.enrollmentToken }
        if !sync.enrollmentTokenFile.isEmpty {
            guard let data = FileManager.default.contents(atPath: sync.enrollmentTokenFile) else {
                throw SyncRoundError(outcome: .refused, message: "cannot read the enrollment token file \(sync.enrollmentTokenFile) ([sync] enrollment_token_file)")
            }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !token.isEmpty { return token }
        }
        throw SyncRoundError(outcome: .refused,
                             message: "the device is not enrolled and has no enrollment token: set [sync] enrollment_token or enrollment_token_file")
    }

    private func hardwareID() -> String {
        if !sync.hardwareID.isEmpty { return sync.hardwareID }
        if let data = FileManager.default.contents(atPath: "/etc/machine-id") {
            let id = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty { return id }
        }
        return queue.deviceID
    }
}

/// Why a sync session ended.
enum SyncSessionOutcome: Sendable, Equatable {
    /// Shutdown.
    case stopped
    /// Network trouble or a coordinator error: retry with backoff.
    case transient
    /// The coordinator refused the device or its token: retry rarely.
    case refused
}

/// A failure inside a sync round that is not an RPC error.
struct SyncRoundError: Error {
    var outcome: SyncSessionOutcome
    var message: String
}

extension SyncService: CustomStringConvertible {
    /// Names the coordinator only: the default reflection would print the enrollment token
    /// (ServiceLifecycle logs every service's description).
    public var description: String { "SyncService(coordinator: \(sync.coordinator))" }
}
