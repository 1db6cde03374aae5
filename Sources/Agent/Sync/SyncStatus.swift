import Foundation

/// What the sync service is doing, for `GET /v1/sync` and `edgevlm sync-status`.
public struct SyncStatus: Codable, Sendable, Equatable {
    /// `[sync] enabled`.
    public var enabled: Bool
    /// The fleet device id from enrollment; nil before enrollment.
    public var deviceID: String?
    /// Last time (Unix ms, time-floored clock) a heartbeat or upload succeeded; nil = never since start.
    public var lastSuccessUnixMs: Int64?
    /// Results waiting in the outbox (not yet acknowledged by the coordinator).
    public var outboxBacklog: Int
    /// Results the coordinator acknowledged since the agent started.
    public var uploadedSinceStart: Int
    /// The last failure's text; nil after a success.
    public var lastError: String?
    /// True when the coordinator refused this device (revoked or unknown credential, bad
    /// enrollment token): sync waits `refused_retry_seconds` between attempts; captioning goes on.
    public var refused: Bool
    /// Model digest the coordinator wants on this device ("" = no opinion or not asked yet).
    public var desiredModelDigest: String
    /// Heartbeat interval in force (seconds), as chosen by the coordinator.
    public var pollIntervalSeconds: Double
    /// When results are held back by `[sync] windows`: the next window opening (Unix ms); nil = uploads allowed now.
    public var nextUploadWindowUnixMs: Int64?

    public init(enabled: Bool, deviceID: String? = nil, lastSuccessUnixMs: Int64? = nil, outboxBacklog: Int = 0,
                uploadedSinceStart: Int = 0, lastError: String? = nil, refused: Bool = false,
                desiredModelDigest: String = "", pollIntervalSeconds: Double = 0, nextUploadWindowUnixMs: Int64? = nil) {
        self.enabled = enabled
        self.deviceID = deviceID
        self.lastSuccessUnixMs = lastSuccessUnixMs
        self.outboxBacklog = outboxBacklog
        self.uploadedSinceStart = uploadedSinceStart
        self.lastError = lastError
        self.refused = refused
        self.desiredModelDigest = desiredModelDigest
        self.pollIntervalSeconds = pollIntervalSeconds
        self.nextUploadWindowUnixMs = nextUploadWindowUnixMs
    }

    enum CodingKeys: String, CodingKey {
        case enabled, refused
        case deviceID = "device_id"
        case lastSuccessUnixMs = "last_success_unix_ms"
        case outboxBacklog = "outbox_backlog"
        case uploadedSinceStart = "uploaded_since_start"
        case lastError = "last_error"
        case desiredModelDigest = "desired_model_digest"
        case pollIntervalSeconds = "poll_interval_seconds"
        case nextUploadWindowUnixMs = "next_upload_window_unix_ms"
    }
}

/// The live `SyncStatus`, written by the sync service and read by the local API. Thread-safe.
public final class SyncStatusBoard: @unchecked Sendable {
    // @unchecked: `status` is only touched under `lock`.
    private let lock = NSLock()
    private var status: SyncStatus

    public init(enabled: Bool) { status = SyncStatus(enabled: enabled) }

    /// A copy of the current status.
    public var snapshot: SyncStatus { lock.withLock { status } }

    func update(_ change: (inout SyncStatus) -> Void) { lock.withLock { change(&status) } }
}
