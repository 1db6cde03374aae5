import FleetProtocol
import GRPCCore

/// The gRPC service devices call (see proto/edgevlm/fleet/v1/device.proto). Every call but
/// Enroll authenticates the device from its bearer credential; ids in messages must match it.
public struct DeviceServiceHandler: FleetDeviceService.ServiceProtocol {
    public let core: CoordinatorCore

    public init(core: CoordinatorCore) {
        self.core = core
    }

    public func enroll(request: ServerRequest<Edgevlm_Fleet_V1_EnrollRequest>,
                       context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_EnrollResponse> {
        try await core.handle("Enroll") {
            let message = request.message
            guard !message.enrollmentToken.isEmpty else {
                throw CoordinatorError(.unauthenticated, "an enrollment token is required")
            }
            guard !message.hardwareID.isEmpty, message.hardwareID.utf8.count <= 256, message.name.utf8.count <= 256 else {
                throw CoordinatorError(.invalidArgument, "hardware_id must be 1...256 bytes and name at most 256")
            }
            let deviceID = Secrets.deviceID()
            let credential = DeviceCredential.issue(for: deviceID)
            let now = core.clock()
            let device: DeviceRecord
            do {
                device = try await core.store.enroll(
                    tokenHash: Digests.sha256Hex(message.enrollmentToken),
                    device: NewDeviceRecord(deviceID: deviceID, hardwareID: message.hardwareID, name: message.name,
                                            credentialHash: credential.hash),
                    now: now)
            } catch let error as CoordinatorError {
                await core.audit(actor: "device:unenrolled", action: "enroll.refused", subject: "hardware \(message.hardwareID)",
                                 detail: error.message)
                throw error
            }
            core.metrics.increment("edgevlm_enrollments_total")
            await core.audit(actor: "device:\(deviceID)", action: "enroll", subject: "device \(deviceID)",
                             detail: "hardware_id=\(message.hardwareID) agent=\(message.agentVersion) tags=\(device.tags.joined(separator: ","))")
            var response = Edgevlm_Fleet_V1_EnrollResponse()
            response.deviceID = deviceID
            response.credential = credential.text
            response.tags = device.tags
            response.serverTimeUnixMs = now
            return ServerResponse(message: response)
        }
    }

    public func heartbeat(request: ServerRequest<Edgevlm_Fleet_V1_HeartbeatRequest>,
                          context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_HeartbeatResponse> {
        try await core.handle("Heartbeat") {
            let desired = try await core.heartbeat(token: FleetAuthorization.bearerToken(in: request.metadata),
                                                   claimed: request.message.deviceID, status: request.message.status)
            core.metrics.increment("edgevlm_heartbeats_total")
            var response = Edgevlm_Fleet_V1_HeartbeatResponse()
            response.desired = desired
            return ServerResponse(message: response)
        }
    }

    public func uploadResults(request: ServerRequest<Edgevlm_Fleet_V1_UploadResultsRequest>,
                              context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_UploadResultsResponse> {
        try await core.handle("UploadResults") {
            let token = FleetAuthorization.bearerToken(in: request.metadata)
            let caller = token.flatMap { DeviceCredential(parsing: $0)?.deviceID } ?? "?"
            let results = request.message.results
            // How devices send their batches (gzip, deflate or identity), for operators sizing links.
            let encoding = request.metadata[stringValues: "grpc-encoding"].first { _ in true } ?? "identity"
            core.metrics.increment("edgevlm_upload_calls_total{encoding=\"\(encoding == "gzip" || encoding == "deflate" ? encoding : "identity")\"}")
            // Limits are checked before the credential so nothing is read for a refused batch.
            try checkLimits(results, caller: caller)
            let outcome = try await core.uploadResults(token: token, claimed: request.message.deviceID, results: results)
            let now = core.clock()
            countIngest(outcome)
            var response = Edgevlm_Fleet_V1_UploadResultsResponse()
            response.ackedSeqs = outcome.ackedSeqs
            response.inserted = UInt32(outcome.inserted)
            response.serverTimeUnixMs = now
            return ServerResponse(message: response)
        }
    }

    public func sync(request: ServerRequest<Edgevlm_Fleet_V1_SyncRequest>,
                     context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_SyncResponse> {
        guard core.configuration.serveSyncCall else {
            throw RPCError(code: .unimplemented, message: "method edgevlm.fleet.v1.DeviceService/Sync is not served (serve_sync_call = false)")
        }
        return try await core.handle("Sync") {
            let token = FleetAuthorization.bearerToken(in: request.metadata)
            let results = request.message.results
            if !results.isEmpty {
                let encoding = request.metadata[stringValues: "grpc-encoding"].first { _ in true } ?? "identity"
                core.metrics.increment("edgevlm_sync_upload_calls_total{encoding=\"\(encoding == "gzip" || encoding == "deflate" ? encoding : "identity")\"}")
                try checkLimits(results, caller: token.flatMap { DeviceCredential(parsing: $0)?.deviceID } ?? "?")
            }
            let (desired, outcome) = try await core.sync(token: token, claimed: request.message.deviceID,
                                                         status: request.message.status, results: results)
            core.metrics.increment("edgevlm_sync_calls_total")
            core.metrics.increment("edgevlm_heartbeats_total")
            countIngest(outcome)
            var response = Edgevlm_Fleet_V1_SyncResponse()
            response.desired = desired
            response.ackedSeqs = outcome.ackedSeqs
            response.inserted = UInt32(outcome.inserted)
            return ServerResponse(message: response)
        }
    }

    /// Refuses a batch over `max_results_per_batch` or with a result over `max_result_text_bytes`
    /// (`.invalidArgument`, naming the seq).
    private func checkLimits(_ results: [FleetResult], caller: String) throws {
        guard results.count <= core.configuration.maxResultsPerBatch else {
            throw CoordinatorError(.invalidArgument,
                                   "batch of \(results.count) results exceeds the limit of \(core.configuration.maxResultsPerBatch); split it")
        }
        for result in results {
            let bytes = result.text.utf8.count + result.attributesJson.utf8.count
            guard bytes <= core.configuration.maxResultTextBytes else {
                throw CoordinatorError(.invalidArgument,
                                       "result seq \(result.seq) carries \(bytes) bytes of text, over the limit of \(core.configuration.maxResultTextBytes)",
                                       context: "device \(caller) seq \(result.seq)")
            }
        }
    }

    private func countIngest(_ outcome: IngestOutcome) {
        core.metrics.increment("edgevlm_results_ingested_total", by: Int64(outcome.inserted))
        core.metrics.increment("edgevlm_results_duplicate_total", by: Int64(outcome.ackedSeqs.count - outcome.inserted))
    }

    public func getDesiredState(request: ServerRequest<Edgevlm_Fleet_V1_GetDesiredStateRequest>,
                                context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_DesiredState> {
        try await core.handle("GetDesiredState") {
            let device = try await authenticate(request.metadata, claimed: request.message.deviceID)
            return ServerResponse(message: try await core.desiredState(deviceID: device.deviceID, assignment: device.assignment))
        }
    }

    public func reportRolloutStatus(request: ServerRequest<Edgevlm_Fleet_V1_RolloutStatusReport>,
                                    context: ServerContext) async throws -> ServerResponse<Edgevlm_Fleet_V1_RolloutStatusAck> {
        try await core.handle("ReportRolloutStatus") {
            let message = request.message
            let device = try await authenticate(request.metadata, claimed: message.deviceID)
            guard message.state != .unspecified, message.state != .pending else {
                throw CoordinatorError(.invalidArgument, "state must be downloading, verifying, evaluating, active, failed or rolled_back")
            }
            guard message.reason.utf8.count <= 4096 else {
                throw CoordinatorError(.invalidArgument, "reason is longer than 4096 bytes")
            }
            let now = core.clock()
            let recorded = try await core.store.recordRolloutReport(deviceID: device.deviceID, rolloutID: message.rolloutID,
                                                                    state: message.state, reason: message.reason, now: now)
            if recorded == .failed || recorded == .rolledBack || recorded == .active {
                // Thresholds and promotions are checked right away, not only on the next tick.
                let before = try await core.store.rollout(id: message.rolloutID)
                let after = try await core.store.advanceRollout(id: message.rolloutID, command: nil, now: now)
                if let before, before.phase != after.phase || before.currentStage != after.currentStage {
                    await core.audit(actor: "system", action: "rollout.\(RolloutStateMachine.name(of: after.phase))",
                                     subject: "rollout \(after.rolloutID)",
                                     detail: "stage \(after.currentStage) \(after.phaseReason)")
                }
            }
            var ack = Edgevlm_Fleet_V1_RolloutStatusAck()
            ack.recorded = recorded
            ack.serverTimeUnixMs = now
            return ServerResponse(message: ack)
        }
    }

    /// The caller's device; `claimed` ("" = none) must be its id.
    private func authenticate(_ metadata: Metadata, claimed: String) async throws -> DeviceAccessRecord {
        try await core.authenticateDevice(token: FleetAuthorization.bearerToken(in: metadata), claimed: claimed)
    }
}
