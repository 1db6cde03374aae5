import FleetProtocol
import Foundation
import GRPCCore

/// The gRPC service operators call (see proto/edgevlm/fleet/v1/operator.proto). Every call
/// needs an operator token; every change is audit-logged as `operator:<name>`.
public struct OperatorServiceHandler: FleetOperatorService.ServiceProtocol {
    public let core: CoordinatorCore

    public init(core: CoordinatorCore) {
        self.core = core
    }

    private func authenticate(_ metadata: Metadata) throws -> String {
        "operator:" + (try core.authenticateOperator(token: FleetAuthorization.bearerToken(in: metadata)))
    }

    /// Operator-facing wrapper: authenticate, then run `body` with the actor name.
    private func run<Message: Sendable>(_ method: String, _ metadata: Metadata,
                                        _ body: (String) async throws -> Message) async throws -> ServerResponse<Message> {
        try await core.handle(method) {
            let actor = try authenticate(metadata)
            return ServerResponse(message: try await body(actor))
        }
    }

    static func validateTags(_ tags: [String]) throws {
        for tag in tags {
            let allowed = tag.utf8.allSatisfy { byte in
                (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
                    || byte == 45 || byte == 46 || byte == 95 || byte == 58 || byte == 61
            }
            guard !tag.isEmpty, tag.utf8.count <= 64, allowed else {
                throw CoordinatorError(.invalidArgument, "tag \"\(tag)\" must be 1...64 of A-Z a-z 0-9 - . _ : =")
            }
        }
    }

    public func createEnrollmentToken(request: ServerRequest<Edgevlm_Fleet_V1_CreateEnrollmentTokenRequest>,
                                      context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_CreateEnrollmentTokenResponse> {
        try await run("CreateEnrollmentToken", request.metadata) { actor in
            let message = request.message
            try Self.validateTags(message.tags)
            let token = Secrets.token(prefix: "enr_")
            let now = core.clock()
            let ttl = Int64(message.ttlSeconds == 0 ? 86_400 : message.ttlSeconds) * 1000
            try await core.store.createEnrollmentToken(EnrollmentTokenRecord(
                tokenHash: Digests.sha256Hex(token), maxUses: Int64(max(1, message.maxUses)), tags: message.tags,
                expiresAt: now + ttl, createdAt: now, createdBy: actor))
            await core.audit(actor: actor, action: "enrollment_token.create", subject: "token \(Digests.sha256Hex(token).prefix(12))",
                             detail: "max_uses=\(max(1, message.maxUses)) tags=\(message.tags.joined(separator: ","))")
            var response = Edgevlm_Fleet_V1_CreateEnrollmentTokenResponse()
            response.token = token
            response.expiresAtUnixMs = now + ttl
            return response
        }
    }

    public func listDevices(request: ServerRequest<Edgevlm_Fleet_V1_ListDevicesRequest>,
                            context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_ListDevicesResponse> {
        try await run("ListDevices", request.metadata) { _ in
            let message = request.message
            let devices = try await core.store.listDevices(tags: message.tags, limit: Int(message.limit == 0 ? 1000 : message.limit),
                                                           afterID: message.afterDeviceID)
            var response = Edgevlm_Fleet_V1_ListDevicesResponse()
            response.devices = devices.map(Self.wire)
            return response
        }
    }

    public func setDeviceTags(request: ServerRequest<Edgevlm_Fleet_V1_SetDeviceTagsRequest>,
                              context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_Device> {
        try await run("SetDeviceTags", request.metadata) { actor in
            try Self.validateTags(request.message.tags)
            let device = try await core.store.setTags(deviceID: request.message.deviceID, tags: request.message.tags)
            await core.audit(actor: actor, action: "device.tags", subject: "device \(device.deviceID)",
                             detail: request.message.tags.joined(separator: ","))
            return Self.wire(device)
        }
    }

    public func revokeDevice(request: ServerRequest<Edgevlm_Fleet_V1_RevokeDeviceRequest>,
                             context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_Device> {
        try await run("RevokeDevice", request.metadata) { actor in
            let device = try await core.store.revoke(deviceID: request.message.deviceID, reason: request.message.reason,
                                                     now: core.clock())
            await core.audit(actor: actor, action: "device.revoke", subject: "device \(device.deviceID)",
                             detail: request.message.reason)
            return Self.wire(device)
        }
    }

    public func uploadBlob(request: StreamingServerRequest<Edgevlm_Fleet_V1_BlobChunk>,
                           context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_BlobInfo> {
        try await core.handle("UploadBlob") {
            let actor = try authenticate(request.metadata)
            let expected = ExpectedDigest()
            let chunks = request.messages.map { chunk -> [UInt8] in
                if !chunk.expectedSha256.isEmpty { expected.value = chunk.expectedSha256 }
                return [UInt8](chunk.data)
            }
            // The expected digest rides on the first chunk; it is read after all chunks arrived.
            let stored = try await core.blobs.write(chunks, expectedSHA256: nil, maxBytes: core.configuration.maxBlobBytes)
            if let want = expected.value, want != stored.sha256 {
                throw CoordinatorError(.invalidArgument, "uploaded bytes have SHA-256 \(stored.sha256), expected \(want)")
            }
            try await core.store.recordBlob(sha256: stored.sha256, size: stored.size, now: core.clock())
            await core.audit(actor: actor, action: "blob.upload", subject: "blob \(stored.sha256)", detail: "\(stored.size) bytes")
            var info = Edgevlm_Fleet_V1_BlobInfo()
            info.sha256 = stored.sha256
            info.sizeBytes = UInt64(stored.size)
            return ServerResponse(message: info)
        }
    }

    public func registerModel(request: ServerRequest<Edgevlm_Fleet_V1_RegisterModelRequest>,
                              context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_Model> {
        try await run("RegisterModel", request.metadata) { actor in
            let signed = request.message.signedManifest
            let verified: (digest: String, manifest: FleetModelManifest)
            do {
                verified = try ModelSigning.verify(signed, trustedKeys: core.trustedModelKeys)
            } catch let error as CoordinatorError {
                await core.audit(actor: actor, action: "model.register.refused", subject: "key \(signed.keyID)", detail: error.message)
                throw error
            }
            for file in verified.manifest.files {
                guard let size = try await core.store.blobSize(sha256: file.sha256) else {
                    throw CoordinatorError(.failedPrecondition, "file \(file.fileName) (\(file.sha256)) was not uploaded; UploadBlob it first",
                                           context: file.fileName)
                }
                guard UInt64(size) == file.sizeBytes else {
                    throw CoordinatorError(.invalidArgument, "file \(file.fileName) is \(size) bytes on the server, the manifest says \(file.sizeBytes)",
                                           context: file.fileName)
                }
            }
            let record = ModelRecord(digest: verified.digest, name: verified.manifest.name, version: verified.manifest.version,
                                     signedManifest: signed, registeredAt: core.clock())
            try await core.store.putModel(record)
            await core.audit(actor: actor, action: "model.register", subject: "model \(verified.digest)",
                             detail: "\(verified.manifest.name) \(verified.manifest.version)")
            return Self.wire(try await core.store.model(digest: verified.digest) ?? record)
        }
    }

    public func listModels(request: ServerRequest<Edgevlm_Fleet_V1_ListModelsRequest>,
                           context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_ListModelsResponse> {
        try await run("ListModels", request.metadata) { _ in
            var response = Edgevlm_Fleet_V1_ListModelsResponse()
            response.models = try await core.store.listModels().map(Self.wire)
            return response
        }
    }

    public func createRollout(request: ServerRequest<Edgevlm_Fleet_V1_CreateRolloutRequest>,
                              context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_Rollout> {
        try await run("CreateRollout", request.metadata) { actor in
            let message = request.message
            try Self.validateTags(message.targetTags)
            try RolloutStateMachine.validate(stages: message.stages, policy: message.policy)
            guard try await core.store.model(digest: message.modelDigest) != nil else {
                throw CoordinatorError(.failedPrecondition, "model \(message.modelDigest) is not registered")
            }
            let now = core.clock()
            let id = "ro_" + Digests.hex(Secrets.randomBytes(8))
            try await core.store.createRollout(RolloutRecord(rolloutID: id, modelDigest: message.modelDigest,
                                                             targetTags: message.targetTags, stages: message.stages,
                                                             policy: message.policy, createdAt: now))
            let rollout = try await core.store.advanceRollout(id: id, command: nil, now: now)
            await core.audit(actor: actor, action: "rollout.create", subject: "rollout \(id)",
                             detail: "model=\(message.modelDigest) tags=\(message.targetTags.joined(separator: ",")) stages=\(message.stages.map { "\($0.percent)%" }.joined(separator: ","))")
            return Self.wire(rollout)
        }
    }

    public func getRollout(request: ServerRequest<Edgevlm_Fleet_V1_GetRolloutRequest>,
                           context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_RolloutDetail> {
        try await run("GetRollout", request.metadata) { _ in
            guard let rollout = try await core.store.rollout(id: request.message.rolloutID) else {
                throw CoordinatorError(.notFound, "no rollout \(request.message.rolloutID)")
            }
            var detail = Edgevlm_Fleet_V1_RolloutDetail()
            detail.rollout = Self.wire(rollout)
            detail.devices = try await core.store.rolloutDevices(rolloutID: rollout.rolloutID).map { device in
                var status = Edgevlm_Fleet_V1_RolloutDeviceStatus()
                status.deviceID = device.deviceID
                status.state = device.state
                status.reason = device.reason
                status.stage = UInt32(device.stage)
                status.updatedAtUnixMs = device.updatedAt
                return status
            }
            return detail
        }
    }

    public func listRollouts(request: ServerRequest<Edgevlm_Fleet_V1_ListRolloutsRequest>,
                             context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_ListRolloutsResponse> {
        try await run("ListRollouts", request.metadata) { _ in
            var response = Edgevlm_Fleet_V1_ListRolloutsResponse()
            response.rollouts = try await core.store.listRollouts().map(Self.wire)
            return response
        }
    }

    private func command(_ method: String, _ request: ServerRequest<Edgevlm_Fleet_V1_RolloutActionRequest>,
                         _ command: RolloutCommand) async throws -> ServerResponse<Edgevlm_Fleet_V1_Rollout> {
        try await run(method, request.metadata) { actor in
            let rollout = try await core.store.advanceRollout(id: request.message.rolloutID, command: command, now: core.clock())
            await core.audit(actor: actor, action: "rollout.\(RolloutStateMachine.name(of: command).replacingOccurrences(of: " ", with: "_"))",
                             subject: "rollout \(rollout.rolloutID)", detail: request.message.reason)
            return Self.wire(rollout)
        }
    }

    public func pauseRollout(request: ServerRequest<Edgevlm_Fleet_V1_RolloutActionRequest>,
                             context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_Rollout> {
        try await command("PauseRollout", request, .pause(reason: request.message.reason))
    }

    public func resumeRollout(request: ServerRequest<Edgevlm_Fleet_V1_RolloutActionRequest>,
                              context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_Rollout> {
        try await command("ResumeRollout", request, .resume)
    }

    public func abortRollout(request: ServerRequest<Edgevlm_Fleet_V1_RolloutActionRequest>,
                             context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_Rollout> {
        try await command("AbortRollout", request, .abort(reason: request.message.reason))
    }

    public func rollbackRollout(request: ServerRequest<Edgevlm_Fleet_V1_RolloutActionRequest>,
                                context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_Rollout> {
        try await command("RollbackRollout", request, .rollback(reason: request.message.reason))
    }

    public func queryResults(request: ServerRequest<Edgevlm_Fleet_V1_QueryResultsRequest>,
                             context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_QueryResultsResponse> {
        try await run("QueryResults", request.metadata) { _ in
            let message = request.message
            let rows = try await core.store.queryResults(ResultQuery(
                deviceID: message.deviceID, tag: message.tag, modelDigest: message.modelDigest, from: message.fromUnixMs,
                until: message.untilUnixMs, limit: Int(message.limit == 0 ? 1000 : min(message.limit, 10_000))))
            var response = Edgevlm_Fleet_V1_QueryResultsResponse()
            response.results = rows.map { row in
                var stored = Edgevlm_Fleet_V1_StoredResult()
                stored.deviceID = row.deviceID
                stored.result = row.result
                stored.receivedAtUnixMs = row.receivedAt
                return stored
            }
            return response
        }
    }

    public func listAuditLog(request: ServerRequest<Edgevlm_Fleet_V1_ListAuditLogRequest>,
                             context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_ListAuditLogResponse> {
        try await run("ListAuditLog", request.metadata) { _ in
            var response = Edgevlm_Fleet_V1_ListAuditLogResponse()
            response.entries = try await core.store.auditLog(limit: Int(request.message.limit == 0 ? 100 : request.message.limit))
                .map { entry in
                    var wire = Edgevlm_Fleet_V1_AuditEntry()
                    wire.id = entry.id
                    wire.atUnixMs = entry.at
                    wire.actor = entry.actor
                    wire.action = entry.action
                    wire.subject = entry.subject
                    wire.detail = entry.detail
                    return wire
                }
            return response
        }
    }

    // MARK: wire mapping

    static func wire(_ device: DeviceRecord) -> Edgevlm_Fleet_V1_Device {
        var wire = Edgevlm_Fleet_V1_Device()
        wire.deviceID = device.deviceID
        wire.hardwareID = device.hardwareID
        wire.name = device.name
        wire.tags = device.tags
        wire.enrolledAtUnixMs = device.enrolledAt
        wire.lastSeenUnixMs = device.lastSeen
        wire.revoked = device.isRevoked
        if let status = device.lastStatus { wire.lastStatus = status }
        wire.desiredModelDigest = device.desiredModelDigest
        return wire
    }

    static func wire(_ model: ModelRecord) -> Edgevlm_Fleet_V1_Model {
        var wire = Edgevlm_Fleet_V1_Model()
        wire.modelDigest = model.digest
        wire.name = model.name
        wire.version = model.version
        wire.signedManifest = model.signedManifest
        wire.registeredAtUnixMs = model.registeredAt
        return wire
    }

    static func wire(_ rollout: RolloutRecord) -> Edgevlm_Fleet_V1_Rollout {
        var wire = Edgevlm_Fleet_V1_Rollout()
        wire.rolloutID = rollout.rolloutID
        wire.modelDigest = rollout.modelDigest
        wire.targetTags = rollout.targetTags
        wire.stages = rollout.stages
        wire.policy = rollout.policy
        wire.phase = rollout.phase
        wire.currentStage = UInt32(max(0, rollout.currentStage))
        wire.stageStartedAtUnixMs = rollout.stageStartedAt
        wire.phaseReason = rollout.phaseReason
        wire.createdAtUnixMs = rollout.createdAt
        wire.devicesAssigned = UInt32(clamping: rollout.counts.assigned)
        wire.devicesSucceeded = UInt32(clamping: rollout.counts.succeeded)
        wire.devicesFailed = UInt32(clamping: rollout.counts.failed)
        wire.devicesTarget = UInt32(clamping: rollout.counts.target)
        return wire
    }
}

/// The expected digest seen on an upload's chunks (set while the stream is consumed).
private final class ExpectedDigest: @unchecked Sendable {
    // Written and read by the one task consuming the upload stream.
    var value: String?
}
