import Crypto
import FleetProtocol
import Foundation
import GRPCCore
import Logging

/// What the gRPC and HTTP front ends share: the store, configuration, credentials, trusted
/// model keys, artifact folder, metrics and the clock. Authentication lives here so every
/// entry point applies the same rules.
public final class CoordinatorCore: Sendable {
    public let store: any CoordinatorStore
    public let configuration: CoordinatorConfiguration
    public let operators: OperatorCredentials
    public let metrics: CoordinatorMetrics
    public let blobs: BlobStore
    public let logger: Logger
    /// Trusted Ed25519 model signing keys (raw 32 bytes) by key id (hex SHA-256 of the raw key).
    /// Kept raw because swift-crypto's key type is not `Sendable`.
    let trustedModelKeyBytes: [String: Data]

    /// The trusted keys as swift-crypto keys (validated in `init`).
    public var trustedModelKeys: [String: Curve25519.Signing.PublicKey] {
        trustedModelKeyBytes.compactMapValues { try? Curve25519.Signing.PublicKey(rawRepresentation: $0) }
    }
    /// Unix milliseconds now; injected so tests control time.
    public let clock: @Sendable () -> Int64
    /// Models by digest for desired states (immutable once stored, so caching is safe).
    let models = ModelCache()
    /// Heartbeat writes, many devices per statement under load (answer: the device's
    /// assignment, nil when refused).
    let heartbeats: GroupCommit<HeartbeatWrite, DeviceAssignment?>
    /// Result uploads, many devices per INSERT under load (answer: nil when refused).
    let uploads: GroupCommit<AuthenticatedUpload, IngestOutcome?>
    /// Whole `Sync` cycles, many devices per store transaction under load (answer: nil when
    /// refused).
    let syncs: GroupCommit<SyncWrite, SyncOutcome?>

    /// Throws `.configuration` for a trusted key that is not base64 of 32 bytes.
    public init(store: any CoordinatorStore, configuration: CoordinatorConfiguration, operators: OperatorCredentials,
                blobs: BlobStore, metrics: CoordinatorMetrics = CoordinatorMetrics(),
                logger: Logger = Logger(label: "edgevlm.coordinator"),
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) throws {
        self.store = store
        self.configuration = configuration
        self.operators = operators
        self.blobs = blobs
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        // A device at most once per statement: its row is updated once, its outcome counted by id.
        heartbeats = GroupCommit(writers: configuration.heartbeatWriters, maxWeight: configuration.heartbeatBatchSize,
                                 key: { $0.deviceID },
                                 onBatch: { _ in metrics.increment("edgevlm_heartbeat_statements_total") },
                                 write: { try await store.recordHeartbeats($0) })
        uploads = GroupCommit(writers: configuration.heartbeatWriters, maxWeight: SQLCoordinatorStore.ingestChunk * 2,
                              key: { $0.upload.deviceID }, weight: { $0.upload.results.count },
                              onBatch: { _ in metrics.increment("edgevlm_upload_batches_total") },
                              write: { try await store.ingest(authenticated: $0) })
        // Weight: a device's row and its result rows, so a batch stays near one heartbeat batch
        // plus two result chunks.
        syncs = GroupCommit(writers: configuration.heartbeatWriters,
                            maxWeight: configuration.heartbeatBatchSize + SQLCoordinatorStore.ingestChunk * 2,
                            key: { $0.deviceID }, weight: { 1 + $0.results.count },
                            onBatch: { _ in metrics.increment("edgevlm_sync_batches_total") },
                            write: { try await store.recordSyncs($0) })
        var keys: [String: Data] = [:]
        for text in configuration.trustedModelKeys {
            guard let raw = Data(base64Encoded: text), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                throw CoordinatorError(.configuration, "trustedModelKeys entry is not base64 of a 32-byte Ed25519 public key",
                                       context: text)
            }
            keys[ModelSigning.keyID(of: key)] = raw
        }
        trustedModelKeyBytes = keys
    }

    // MARK: authentication

    /// The device whose credential `token` is; throws `.unauthenticated` for a missing, unknown,
    /// wrong or revoked credential (the store is asked on every call, so revocation is immediate)
    /// and `.permissionDenied` when `claimed` (a device id from the message, "" = none) is
    /// another device's.
    public func authenticateDevice(token: String?, claimed: String = "") async throws -> DeviceAccessRecord {
        guard let token, let credential = DeviceCredential(parsing: token) else {
            metrics.increment("edgevlm_auth_failures_total{kind=\"device\"}")
            throw CoordinatorError(.unauthenticated, "a device credential is required (authorization: Bearer <credential>)")
        }
        guard let device = try await store.deviceAccess(id: credential.deviceID),
              Secrets.constantTimeEqual(device.credentialHash, credential.hash) else {
            metrics.increment("edgevlm_auth_failures_total{kind=\"device\"}")
            throw CoordinatorError(.unauthenticated, "unknown device credential")
        }
        guard !device.isRevoked else {
            metrics.increment("edgevlm_auth_failures_total{kind=\"revoked\"}")
            throw CoordinatorError(.unauthenticated, "device \(device.deviceID) is revoked: \(device.revokeReason)",
                                   context: "device \(device.deviceID)")
        }
        guard claimed.isEmpty || claimed == device.deviceID else {
            metrics.increment("edgevlm_auth_failures_total{kind=\"impersonation\"}")
            throw CoordinatorError(.permissionDenied, "device \(device.deviceID) cannot act as \(claimed)",
                                   context: "device \(device.deviceID)")
        }
        return device
    }

    /// A device's heartbeat: authenticates `token` (as `authenticateDevice`), stores `status`
    /// and returns the device's desired state. The common case is one store statement shared
    /// with other devices' heartbeats (credential check, revocation check and status write
    /// together; see `GroupCommit`); refusals take a second read only to say why.
    /// Throws `.unauthenticated`, `.permissionDenied` or `.database`.
    public func heartbeat(token: String?, claimed: String, status: FleetDeviceStatus) async throws -> FleetDesiredState {
        guard let token, let credential = DeviceCredential(parsing: token),
              claimed.isEmpty || claimed == credential.deviceID else {
            _ = try await authenticateDevice(token: token, claimed: claimed)
            // Unreachable in practice (the check above throws); refuse rather than store anything.
            throw CoordinatorError(.unauthenticated, "unknown device credential")
        }
        let write = HeartbeatWrite(deviceID: credential.deviceID, credentialHash: credential.hash, status: status, now: clock())
        guard let assignment = try await heartbeats.submit(write) else {
            _ = try await authenticateDevice(token: token, claimed: claimed)
            // The conditional write missed but a later read passed: never claim it was stored.
            throw CoordinatorError(.unauthenticated, "device credential changed during the call; retry")
        }
        return try await desiredState(deviceID: credential.deviceID, assignment: assignment)
    }

    /// A device's result upload: authenticates `token` (as `authenticateDevice`) and stores the
    /// results not stored yet, together with other devices' uploads (see `GroupCommit`)
    /// in one INSERT that checks the credential and revocation itself;
    /// refusals take a second read only to say why. Throws `.unauthenticated`,
    /// `.permissionDenied` or `.database`.
    public func uploadResults(token: String?, claimed: String, results: [FleetResult]) async throws -> IngestOutcome {
        guard let token, let credential = DeviceCredential(parsing: token),
              claimed.isEmpty || claimed == credential.deviceID else {
            _ = try await authenticateDevice(token: token, claimed: claimed)
            throw CoordinatorError(.unauthenticated, "unknown device credential")
        }
        let upload = ResultUpload(deviceID: credential.deviceID, results: results, receivedAt: clock())
        guard let outcome = try await uploads.submit(AuthenticatedUpload(upload: upload, credentialHash: credential.hash)) else {
            _ = try await authenticateDevice(token: token, claimed: claimed)
            throw CoordinatorError(.unauthenticated, "device credential changed during the call; retry")
        }
        return outcome
    }

    /// A device's whole sync cycle (the `Sync` RPC): authenticates `token` (as
    /// `authenticateDevice`), stores `status` and the `results` not stored yet, and returns the
    /// desired state and the upload's outcome (empty when no results were sent). Status and
    /// results go together with other devices' cycles in one store transaction (one statement
    /// on PostgreSQL, see `CoordinatorStore.recordSyncs`) that checks the credential and
    /// revocation itself: stored together or not at all; refusals take a second read only to
    /// say why. Throws `.unauthenticated`, `.permissionDenied` or `.database`.
    public func sync(token: String?, claimed: String, status: FleetDeviceStatus,
                     results: [FleetResult]) async throws -> (desired: FleetDesiredState, upload: IngestOutcome) {
        guard let token, let credential = DeviceCredential(parsing: token),
              claimed.isEmpty || claimed == credential.deviceID else {
            _ = try await authenticateDevice(token: token, claimed: claimed)
            throw CoordinatorError(.unauthenticated, "unknown device credential")
        }
        let heartbeat = HeartbeatWrite(deviceID: credential.deviceID, credentialHash: credential.hash, status: status, now: clock())
        guard let outcome = try await syncs.submit(SyncWrite(heartbeat: heartbeat, results: results)) else {
            _ = try await authenticateDevice(token: token, claimed: claimed)
            throw CoordinatorError(.unauthenticated, "device credential changed during the call; retry")
        }
        return (try await desiredState(deviceID: credential.deviceID, assignment: outcome.assignment), outcome.upload)
    }

    /// The operator whose token `token` is; throws `.unauthenticated` otherwise.
    public func authenticateOperator(token: String?) throws -> String {
        guard let token, let name = operators.operatorName(for: token) else {
            metrics.increment("edgevlm_auth_failures_total{kind=\"operator\"}")
            throw CoordinatorError(.unauthenticated, "an operator token is required (authorization: Bearer <token>)")
        }
        return name
    }

    /// Appends to the audit log; failures are logged, never hide the action's own outcome.
    public func audit(actor: String, action: String, subject: String, detail: String = "") async {
        do {
            try await store.appendAudit(AuditRecord(at: clock(), actor: actor, action: action, subject: subject, detail: detail))
        } catch {
            logger.error("audit log write failed: \(error)", metadata: ["action": "\(action)", "subject": "\(subject)"])
        }
    }

    // MARK: desired state

    /// What device `deviceID` should run (its stored `assignment`, the model read by digest)
    /// and when to call again. The interval gets a fixed per-device spread of ±10% so a fleet
    /// that rebooted together does not stay in lockstep.
    public func desiredState(deviceID: String, assignment: DeviceAssignment) async throws -> FleetDesiredState {
        var state = FleetDesiredState()
        let base = max(1, configuration.pollIntervalSeconds)
        let hash = Digests.sha256Hex(deviceID).utf8.prefix(4).reduce(0) { $0 &* 31 &+ Int($1) }
        let spread = base / 10
        state.pollIntervalSeconds = UInt32(clamping: spread > 0 ? base - spread + hash % (2 * spread + 1) : base)
        state.serverTimeUnixMs = clock()
        if !assignment.modelDigest.isEmpty,
           let model = try await models.model(digest: assignment.modelDigest, load: { try await store.model(digest: $0) }) {
            var modelAssignment = FleetModelAssignment()
            modelAssignment.modelDigest = model.digest
            modelAssignment.signedManifest = model.signedManifest
            modelAssignment.rolloutID = assignment.rolloutID
            if let manifest = try? FleetModelManifest(serializedBytes: model.signedManifest.manifest) {
                for file in manifest.files { modelAssignment.artifactPaths[file.sha256] = "/v1/blobs/\(file.sha256)" }
            }
            state.model = modelAssignment
        }
        return state
    }
}

extension CoordinatorError {
    /// The gRPC status for this error; internal failures are reported without their details
    /// (those go to the log).
    var rpcError: RPCError {
        switch kind {
        case .notFound: RPCError(code: .notFound, message: description)
        case .alreadyExists: RPCError(code: .alreadyExists, message: description)
        case .invalidArgument, .signature: RPCError(code: .invalidArgument, message: description)
        case .unauthenticated: RPCError(code: .unauthenticated, message: message)
        case .permissionDenied: RPCError(code: .permissionDenied, message: description)
        case .failedPrecondition: RPCError(code: .failedPrecondition, message: description)
        case .database, .io, .configuration: RPCError(code: .internalError, message: "internal error (see coordinator log)")
        }
    }
}
