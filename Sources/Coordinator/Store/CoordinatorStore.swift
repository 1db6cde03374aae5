import FleetProtocol

/// Everything the coordinator keeps: devices and their credentials, enrollment tokens, the audit
/// log, results, artifact blobs, models, rollouts and per-device rollout state.
///
/// Implementations must be safe to share between tasks and between coordinator processes on
/// one database: ingest is idempotent by `(device_id, seq)`, enrollment consumes a token use
/// atomically, rollout transitions run under a row lock. Times are Unix milliseconds.
/// Every method throws `CoordinatorError` (`.database` with the SQL for engine failures,
/// `.notFound`, `.alreadyExists`, `.unauthenticated`, `.failedPrecondition` for refused input).
public protocol CoordinatorStore: Sendable {
    /// Creates missing tables and indexes (idempotent; safe to run from several processes).
    func migrate() async throws
    /// Releases connections.
    func close() async

    // MARK: enrollment and devices
    func createEnrollmentToken(_ token: EnrollmentTokenRecord) async throws
    /// Consumes one use of the token with hash `tokenHash` and creates the device, atomically.
    /// Throws `.unauthenticated` for an unknown, used-up or expired token and `.alreadyExists`
    /// when `hardwareID` is already enrolled (nothing is consumed then).
    func enroll(tokenHash: String, device: NewDeviceRecord, now: Int64) async throws -> DeviceRecord
    func device(id: String) async throws -> DeviceRecord?
    /// Devices carrying every tag in `tags`, ordered by id, after `afterID`.
    func listDevices(tags: [String], limit: Int, afterID: String) async throws -> [DeviceRecord]
    func setTags(deviceID: String, tags: [String]) async throws -> DeviceRecord
    /// Marks the device revoked; its credential stops working on the next call.
    func revoke(deviceID: String, reason: String, now: Int64) async throws -> DeviceRecord
    /// The device's credential hash, revocation and assignment (cheaper than `device(id:)`).
    func deviceAccess(id: String) async throws -> DeviceAccessRecord?
    /// `deviceAccess` for several devices in one read, by device id (unknown ids are absent).
    func deviceAccess(ids: [String]) async throws -> [String: DeviceAccessRecord]
    func recordHeartbeat(deviceID: String, status: FleetDeviceStatus, now: Int64) async throws
    /// Authenticated heartbeats of many devices in one statement: for each write whose device
    /// exists, has the write's credential hash and is not revoked, stores its status and time as
    /// the device's last status; the answer, in the order of `writes`, is each device's
    /// assignment, or nil where nothing was stored. Check and write are one statement, so a
    /// revocation committed earlier (by any coordinator process on the database) is always seen.
    /// A device may appear at most once in `writes`. Throws `.database`; then nothing is stored.
    func recordHeartbeats(_ writes: [HeartbeatWrite]) async throws -> [DeviceAssignment?]
    /// The model the device should run (with the rollout that chose it), nil when none.
    func desiredModel(deviceID: String) async throws -> (model: ModelRecord, rolloutID: String)?

    // MARK: audit
    func appendAudit(_ entry: AuditRecord) async throws
    /// Newest first.
    func auditLog(limit: Int) async throws -> [AuditRecord]

    // MARK: results
    /// Stores the results not stored yet; every seq of `results` is stored afterwards.
    func ingest(deviceID: String, results: [FleetResult], receivedAt: Int64) async throws -> IngestOutcome
    /// `ingest` for several devices' uploads in as few statements as possible; one outcome per
    /// upload, in order. A device may appear at most once in `uploads`.
    func ingest(_ uploads: [ResultUpload]) async throws -> [IngestOutcome]
    /// `ingest` for authenticated callers: each upload's rows are inserted only where its device
    /// exists, has the upload's credential hash and is not revoked — checked inside the INSERT
    /// itself, so a revocation committed before it (by any coordinator process on the database)
    /// is always seen and no row slips in between a check and a write. One answer per upload, in
    /// order: its outcome, or nil when refused (nothing of it stored then). A device may appear
    /// at most once. Throws `.database`.
    func ingest(authenticated uploads: [AuthenticatedUpload]) async throws -> [IngestOutcome?]
    func queryResults(_ query: ResultQuery) async throws -> [StoredResultRecord]
    /// Whole sync cycles of many devices (the `Sync` call) in one transaction — one statement on
    /// PostgreSQL: for each write whose device exists, has the write's credential hash and is not
    /// revoked, stores the status as `recordHeartbeats` does and the results not stored yet as
    /// `ingest` does. One answer per write, in order: the device's assignment and ingest outcome
    /// (every seq sent is stored afterwards), or nil when refused — nothing of that write is
    /// stored then. A device may appear at most once. Throws `.database`; then nothing is stored.
    func recordSyncs(_ writes: [SyncWrite]) async throws -> [SyncOutcome?]

    // MARK: artifacts and models
    func recordBlob(sha256: String, size: Int64, now: Int64) async throws
    /// Size of a stored blob, nil when unknown.
    func blobSize(sha256: String) async throws -> Int64?
    /// Stores a verified model; storing the same digest again is a no-op.
    func putModel(_ model: ModelRecord) async throws
    func model(digest: String) async throws -> ModelRecord?
    func listModels() async throws -> [ModelRecord]

    // MARK: rollouts
    /// Stores a new rollout (phase running, stage 0 not yet assigned) — call `advanceRollout`
    /// next to assign its first stage.
    func createRollout(_ rollout: RolloutRecord) async throws
    func rollout(id: String) async throws -> RolloutRecord?
    func listRollouts() async throws -> [RolloutRecord]
    func rolloutDevices(rolloutID: String) async throws -> [RolloutDeviceRecord]
    /// Records a device's report; returns the state now recorded (terminal failure states stay).
    /// Throws `.permissionDenied` when the device is not part of the rollout.
    func recordRolloutReport(deviceID: String, rolloutID: String, state: FleetRolloutDeviceState,
                             reason: String, now: Int64) async throws -> FleetRolloutDeviceState
    /// Under the rollout's row lock: applies `command` (nil = just evaluate), runs the state
    /// machine, assigns devices of a newly reached stage, rolls devices back on rollback.
    /// Throws `.failedPrecondition` when the command is not allowed in the current phase.
    func advanceRollout(id: String, command: RolloutCommand?, now: Int64) async throws -> RolloutRecord
}
