import FleetProtocol

/// An enrollment token as stored: only its SHA-256 hash, never the secret.
public struct EnrollmentTokenRecord: Sendable, Equatable {
    public var tokenHash: String
    public var maxUses: Int64
    public var uses: Int64
    public var tags: [String]
    public var expiresAt: Int64
    public var createdAt: Int64
    public var createdBy: String

    public init(tokenHash: String, maxUses: Int64, uses: Int64 = 0, tags: [String], expiresAt: Int64,
                createdAt: Int64, createdBy: String) {
        self.tokenHash = tokenHash
        self.maxUses = maxUses
        self.uses = uses
        self.tags = tags
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.createdBy = createdBy
    }
}

/// What enrollment creates (the tags come from the token).
public struct NewDeviceRecord: Sendable, Equatable {
    public var deviceID: String
    public var hardwareID: String
    public var name: String
    /// SHA-256 hex of the device's secret credential.
    public var credentialHash: String

    public init(deviceID: String, hardwareID: String, name: String, credentialHash: String) {
        self.deviceID = deviceID
        self.hardwareID = hardwareID
        self.name = name
        self.credentialHash = credentialHash
    }
}

/// A device as stored.
public struct DeviceRecord: Sendable, Equatable {
    public var deviceID: String
    public var hardwareID: String
    public var name: String
    public var tags: [String]
    public var credentialHash: String
    public var enrolledAt: Int64
    /// 0 = never seen.
    public var lastSeen: Int64
    /// 0 = not revoked.
    public var revokedAt: Int64
    public var revokeReason: String
    public var lastStatus: FleetDeviceStatus?
    public var desiredModelDigest: String
    public var desiredRolloutID: String

    public var isRevoked: Bool { revokedAt != 0 }
}

/// What the credential check needs of a device, read without decoding its last status.
public struct DeviceAccessRecord: Sendable, Equatable {
    public var deviceID: String
    /// SHA-256 hex of the device's secret credential.
    public var credentialHash: String
    /// 0 = not revoked.
    public var revokedAt: Int64
    public var revokeReason: String
    /// What the device should run, as stored on its row.
    public var assignment: DeviceAssignment

    public var isRevoked: Bool { revokedAt != 0 }
}

/// The model a device should run and the rollout that chose it, as stored on the device's
/// row ("" = none). The model itself is looked up by digest (models never change once stored).
public struct DeviceAssignment: Sendable, Equatable {
    public var modelDigest: String
    public var rolloutID: String

    public init(modelDigest: String, rolloutID: String) {
        self.modelDigest = modelDigest
        self.rolloutID = rolloutID
    }
}

/// One device's heartbeat as the store writes it, with the credential hash it must match.
public struct HeartbeatWrite: Sendable, Equatable {
    public var deviceID: String
    /// SHA-256 hex of the credential the call came with.
    public var credentialHash: String
    public var status: FleetDeviceStatus
    public var now: Int64

    public init(deviceID: String, credentialHash: String, status: FleetDeviceStatus, now: Int64) {
        self.deviceID = deviceID
        self.credentialHash = credentialHash
        self.status = status
        self.now = now
    }
}

/// One device's result upload as the store writes it.
public struct ResultUpload: Sendable, Equatable {
    public var deviceID: String
    public var results: [FleetResult]
    public var receivedAt: Int64

    public init(deviceID: String, results: [FleetResult], receivedAt: Int64) {
        self.deviceID = deviceID
        self.results = results
        self.receivedAt = receivedAt
    }
}

/// A result upload with the SHA-256 hex of the credential its call came with: stored only
/// while that credential is the device's and the device is not revoked.
public struct AuthenticatedUpload: Sendable, Equatable {
    public var upload: ResultUpload
    public var credentialHash: String

    public init(upload: ResultUpload, credentialHash: String) {
        self.upload = upload
        self.credentialHash = credentialHash
    }
}

/// One device's whole sync cycle as the store writes it: its heartbeat (with the credential
/// hash it must match) and its results, stored together or not at all.
public struct SyncWrite: Sendable, Equatable {
    public var heartbeat: HeartbeatWrite
    /// Results to store (received at `heartbeat.now`); may be empty.
    public var results: [FleetResult]

    public var deviceID: String { heartbeat.deviceID }

    public init(heartbeat: HeartbeatWrite, results: [FleetResult]) {
        self.heartbeat = heartbeat
        self.results = results
    }
}

/// What a stored sync cycle answers: the device's assignment (for its desired state) and the
/// outcome of its results.
public struct SyncOutcome: Sendable, Equatable {
    public var assignment: DeviceAssignment
    public var upload: IngestOutcome

    public init(assignment: DeviceAssignment, upload: IngestOutcome) {
        self.assignment = assignment
        self.upload = upload
    }
}

/// One audit log line.
public struct AuditRecord: Sendable, Equatable {
    public var id: Int64
    public var at: Int64
    /// "operator:<name>", "device:<id>" or "system".
    public var actor: String
    public var action: String
    public var subject: String
    public var detail: String

    public init(id: Int64 = 0, at: Int64, actor: String, action: String, subject: String, detail: String = "") {
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.subject = subject
        self.detail = detail
    }
}

/// The answer to an ingest: every seq now stored, and how many were new.
public struct IngestOutcome: Sendable, Equatable {
    public var ackedSeqs: [UInt64]
    public var inserted: Int
}

/// Filter for result queries; empty/zero fields do not filter.
public struct ResultQuery: Sendable, Equatable {
    public var deviceID: String = ""
    public var tag: String = ""
    public var modelDigest: String = ""
    /// created_at >= from (0 = open).
    public var from: Int64 = 0
    /// created_at < until (0 = open).
    public var until: Int64 = 0
    public var limit: Int = 1000
    /// Newest first (by created_at) instead of oldest first.
    public var newestFirst: Bool = false

    public init(deviceID: String = "", tag: String = "", modelDigest: String = "", from: Int64 = 0,
                until: Int64 = 0, limit: Int = 1000, newestFirst: Bool = false) {
        self.newestFirst = newestFirst
        self.deviceID = deviceID
        self.tag = tag
        self.modelDigest = modelDigest
        self.from = from
        self.until = until
        self.limit = limit
    }
}

/// A result with the device that made it and when it arrived.
public struct StoredResultRecord: Sendable, Equatable {
    public var deviceID: String
    public var result: FleetResult
    public var receivedAt: Int64
}

/// A registered model: its signed manifest exactly as uploaded.
public struct ModelRecord: Sendable, Equatable {
    /// SHA-256 hex of `signedManifest.manifest`.
    public var digest: String
    public var name: String
    public var version: String
    public var signedManifest: FleetSignedManifest
    public var registeredAt: Int64

    public init(digest: String, name: String, version: String, signedManifest: FleetSignedManifest, registeredAt: Int64) {
        self.digest = digest
        self.name = name
        self.version = version
        self.signedManifest = signedManifest
        self.registeredAt = registeredAt
    }
}

/// A rollout as stored, with its device counts (filled on reads).
public struct RolloutRecord: Sendable, Equatable {
    public var rolloutID: String
    public var modelDigest: String
    public var targetTags: [String]
    public var stages: [FleetRolloutStage]
    public var policy: FleetRolloutPolicy
    public var phase: FleetRolloutPhase
    /// Index into `stages` of the stage reached so far; -1 before the first assignment.
    public var currentStage: Int
    public var stageStartedAt: Int64
    public var phaseReason: String
    public var createdAt: Int64
    /// Failures already seen when the operator last resumed (thresholds count the ones after).
    public var acknowledgedFailures: Int64
    /// Filled on reads.
    public var counts: RolloutCounts = RolloutCounts()

    public init(rolloutID: String, modelDigest: String, targetTags: [String], stages: [FleetRolloutStage],
                policy: FleetRolloutPolicy, phase: FleetRolloutPhase = .running, currentStage: Int = -1,
                stageStartedAt: Int64 = 0, phaseReason: String = "", createdAt: Int64, acknowledgedFailures: Int64 = 0) {
        self.rolloutID = rolloutID
        self.modelDigest = modelDigest
        self.targetTags = targetTags
        self.stages = stages
        self.policy = policy
        self.phase = phase
        self.currentStage = currentStage
        self.stageStartedAt = stageStartedAt
        self.phaseReason = phaseReason
        self.createdAt = createdAt
        self.acknowledgedFailures = acknowledgedFailures
    }
}

/// Device counts of a rollout.
public struct RolloutCounts: Sendable, Equatable {
    /// Devices that match the target tags now.
    public var target: Int64 = 0
    public var assigned: Int64 = 0
    public var succeeded: Int64 = 0
    /// FAILED or ROLLED_BACK.
    public var failed: Int64 = 0

    public init(target: Int64 = 0, assigned: Int64 = 0, succeeded: Int64 = 0, failed: Int64 = 0) {
        self.target = target
        self.assigned = assigned
        self.succeeded = succeeded
        self.failed = failed
    }
}

/// One device's part in a rollout.
public struct RolloutDeviceRecord: Sendable, Equatable {
    public var rolloutID: String
    public var deviceID: String
    public var stage: Int
    public var state: FleetRolloutDeviceState
    public var reason: String
    /// The model the device was meant to run before the rollout (target of a rollback).
    public var previousModelDigest: String
    public var updatedAt: Int64
}
