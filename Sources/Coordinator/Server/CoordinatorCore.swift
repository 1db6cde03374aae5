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
    /// wrong or revoked credential (the store is asked on every call, so revocation is immediate).
    public func authenticateDevice(token: String?) async throws -> DeviceRecord {
        guard let token, let credential = DeviceCredential(parsing: token) else {
            metrics.increment("edgevlm_auth_failures_total{kind=\"device\"}")
            throw CoordinatorError(.unauthenticated, "a device credential is required (authorization: Bearer <credential>)")
        }
        guard let device = try await store.device(id: credential.deviceID),
              Secrets.constantTimeEqual(device.credentialHash, credential.hash) else {
            metrics.increment("edgevlm_auth_failures_total{kind=\"device\"}")
            throw CoordinatorError(.unauthenticated, "unknown device credential")
        }
        guard !device.isRevoked else {
            metrics.increment("edgevlm_auth_failures_total{kind=\"revoked\"}")
            throw CoordinatorError(.unauthenticated, "device \(device.deviceID) is revoked: \(device.revokeReason)",
                                   context: "device \(device.deviceID)")
        }
        return device
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

    /// What `device` should run and when to call again. The interval gets a fixed per-device
    /// spread of ±10% so a fleet that rebooted together does not stay in lockstep.
    public func desiredState(for device: DeviceRecord) async throws -> FleetDesiredState {
        var state = FleetDesiredState()
        let base = max(1, configuration.pollIntervalSeconds)
        let hash = Digests.sha256Hex(device.deviceID).utf8.prefix(4).reduce(0) { $0 &* 31 &+ Int($1) }
        let spread = base / 10
        state.pollIntervalSeconds = UInt32(clamping: spread > 0 ? base - spread + hash % (2 * spread + 1) : base)
        state.serverTimeUnixMs = clock()
        if let desired = try await store.desiredModel(deviceID: device.deviceID) {
            let model = desired.model, rolloutID = desired.rolloutID
            var assignment = FleetModelAssignment()
            assignment.modelDigest = model.digest
            assignment.signedManifest = model.signedManifest
            assignment.rolloutID = rolloutID
            if let manifest = try? FleetModelManifest(serializedBytes: model.signedManifest.manifest) {
                for file in manifest.files { assignment.artifactPaths[file.sha256] = "/v1/blobs/\(file.sha256)" }
            }
            state.model = assignment
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
