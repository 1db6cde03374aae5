@testable import Coordinator
import Crypto
import FleetProtocol
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

/// The coordinator over real gRPC (TLS) and HTTP on loopback, in this process.
@Suite("Coordinator server", .serialized)
struct ServerTests {
    static func result(_ seq: UInt64) -> FleetResult {
        var result = FleetResult()
        result.seq = seq
        result.createdAtUnixMs = 1_700_000_000_000 + Int64(seq)
        result.text = "a person at the door \(seq)"
        result.modelDigest = "m"
        return result
    }

    @Test("enroll, heartbeat, idempotent upload, impersonation and revocation", arguments: StoreBackend.allCases)
    func deviceLifecycle(_ backend: StoreBackend) async throws {
        guard let harness = try await ServerHarness.start(backend) else { return }
        do {
            try await harness.withClient { client in
                let devices = FleetDeviceService.Client(wrapping: client)
                let operators = FleetOperatorService.Client(wrapping: client)
                let token = try await harness.enrollmentToken(client, uses: 2)
                let (id, credential) = try await ServerHarness.enroll(client, token: token, hardwareID: "hw-1")
                let (otherID, _) = try await ServerHarness.enroll(client, token: token, hardwareID: "hw-2")
                // Token used up.
                await #expect { _ = try await ServerHarness.enroll(client, token: token, hardwareID: "hw-3") } throws: {
                    RPCError.Code.of($0) == .unauthenticated
                }
                let auth = FleetAuthorization.metadata(bearer: credential)
                var heartbeat = Edgevlm_Fleet_V1_HeartbeatRequest()
                heartbeat.status.queueDepth = 3
                let beat = try await devices.heartbeat(heartbeat, metadata: auth)
                #expect(beat.desired.pollIntervalSeconds >= 54 && beat.desired.pollIntervalSeconds <= 66)
                #expect(abs(beat.desired.serverTimeUnixMs - Int64(Date().timeIntervalSince1970 * 1000)) < 60_000)
                #expect(!beat.desired.hasModel)
                // No credential, a wrong one, or another device's id: refused.
                await #expect { _ = try await devices.heartbeat(heartbeat) } throws: { RPCError.Code.of($0) == .unauthenticated }
                await #expect {
                    _ = try await devices.heartbeat(heartbeat, metadata: FleetAuthorization.metadata(bearer: "\(id).nope"))
                } throws: { RPCError.Code.of($0) == .unauthenticated }
                var impersonating = heartbeat
                impersonating.deviceID = otherID
                await #expect { _ = try await devices.heartbeat(impersonating, metadata: auth) } throws: {
                    RPCError.Code.of($0) == .permissionDenied
                }
                // Upload, retry with overlap: nothing duplicates.
                var upload = Edgevlm_Fleet_V1_UploadResultsRequest()
                upload.results = [1, 2, 3].map(Self.result)
                let first = try await devices.uploadResults(upload, metadata: auth)
                #expect(first.ackedSeqs == [1, 2, 3] && first.inserted == 3)
                upload.results = [3, 2, 4].map(Self.result)
                let retry = try await devices.uploadResults(upload, metadata: auth)
                #expect(retry.ackedSeqs == [3, 2, 4] && retry.inserted == 1)
                var query = Edgevlm_Fleet_V1_QueryResultsRequest()
                query.deviceID = id
                let stored = try await operators.queryResults(query, metadata: harness.operatorMetadata)
                #expect(stored.results.map(\.result.seq) == [1, 2, 3, 4])
                // Oversized batch and oversized text: refused, nothing stored.
                upload.results = (100..<1_101).map(Self.result)
                await #expect { _ = try await devices.uploadResults(upload, metadata: auth) } throws: {
                    RPCError.Code.of($0) == .invalidArgument
                }
                var big = Self.result(5_000)
                big.text = String(repeating: "x", count: 70_000)
                upload.results = [Self.result(4_999), big]
                await #expect { _ = try await devices.uploadResults(upload, metadata: auth) } throws: {
                    RPCError.Code.of($0) == .invalidArgument
                }
                #expect(try await operators.queryResults(query, metadata: harness.operatorMetadata).results.count == 4)
                // Device credentials do not open the operator API, and no token does not either.
                await #expect { _ = try await operators.listDevices(.init(), metadata: auth) } throws: {
                    RPCError.Code.of($0) == .unauthenticated
                }
                // Revocation takes effect on the next call.
                var revoke = Edgevlm_Fleet_V1_RevokeDeviceRequest()
                revoke.deviceID = id
                revoke.reason = "stolen"
                #expect(try await operators.revokeDevice(revoke, metadata: harness.operatorMetadata).revoked)
                await #expect { _ = try await devices.heartbeat(heartbeat, metadata: auth) } throws: {
                    RPCError.Code.of($0) == .unauthenticated
                }
                let audit = try await operators.listAuditLog(.init(), metadata: harness.operatorMetadata).entries
                #expect(audit.contains { $0.action == "device.revoke" && $0.actor == "operator:admin" && $0.detail == "stolen" })
                #expect(audit.contains { $0.action == "enroll" && $0.subject == "device \(id)" })
                #expect(audit.contains { $0.action == "enroll.refused" })
            }
            // Metrics and export over HTTP.
            let metrics = try await harness.http("/metrics")
            #expect(metrics.status == 200)
            #expect(String(decoding: metrics.body, as: UTF8.self).contains("edgevlm_results_ingested_total 4"))
            let unauthorized = try await harness.http("/v1/results/export?format=csv")
            #expect(unauthorized.status == 401)
            let csv = try await harness.http("/v1/results/export?format=csv", headers: ["Authorization": "Bearer \(harness.adminToken)"])
            let lines = String(decoding: csv.body, as: UTF8.self).split(separator: "\n")
            #expect(lines.count == 5 && lines[0].hasPrefix("device_id,seq"))
            let jsonl = try await harness.http("/v1/results/export?format=jsonl&until=1700000000000000",
                                               headers: ["Authorization": "Bearer \(harness.adminToken)"])
            let objects = try String(decoding: jsonl.body, as: UTF8.self).split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            #expect(objects.count == 4 && objects.first??["text"] as? String == "a person at the door 1")
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    /// A TLS client transport to the harness that can send gzip and deflate, `default` unless a
    /// call's options say otherwise.
    static func compressingTransport(_ harness: ServerHarness, default algorithm: CompressionAlgorithm) throws
        -> HTTP2ClientTransport.Posix {
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.compression = .init(algorithm: algorithm, enabledAlgorithms: [.gzip, .deflate])
        let caPEM = try #require(harness.server.tls?.caCertificatePEM)
        return try HTTP2ClientTransport.Posix(
            target: .ipv4(host: "127.0.0.1", port: harness.grpcPort),
            transportSecurity: .tls { $0.trustRoots = .certificates([.bytes(Array(caPEM.utf8), format: .pem)]) },
            config: config)
    }

    /// Uploads compressed with gzip and with deflate (as the agent sends them) are decompressed,
    /// stored and counted like plain ones.
    @Test("compressed result uploads are accepted and counted", arguments: StoreBackend.allCases)
    func compressedUploads(_ backend: StoreBackend) async throws {
        guard let harness = try await ServerHarness.start(backend) else { return }
        do {
            let (id, credential) = try await harness.withClient { client in
                let token = try await harness.enrollmentToken(client)
                return try await ServerHarness.enroll(client, token: token, hardwareID: "hw-gzip")
            }
            let transport = try Self.compressingTransport(harness, default: .gzip)
            try await withGRPCClient(transport: transport) { client in
                let devices = FleetDeviceService.Client(wrapping: client)
                let auth = FleetAuthorization.metadata(bearer: credential)
                var upload = Edgevlm_Fleet_V1_UploadResultsRequest()
                upload.results = (1...100).map(Self.result)
                let gzip = try await devices.uploadResults(upload, metadata: auth)  // transport default: gzip
                #expect(gzip.inserted == 100 && gzip.ackedSeqs.count == 100)
                var deflate = CallOptions.defaults
                deflate.compression = .deflate
                upload.results = (101...150).map(Self.result)
                let second = try await devices.uploadResults(upload, metadata: auth, options: deflate)
                #expect(second.inserted == 50)
                var query = Edgevlm_Fleet_V1_QueryResultsRequest()
                query.deviceID = id
                let stored = try await FleetOperatorService.Client(wrapping: client).queryResults(query, metadata: harness.operatorMetadata)
                #expect(stored.results.map(\.result.seq) == Array(1...150))
                #expect(stored.results.last?.result.text == "a person at the door 150")
            }
            let metrics = harness.server.core.metrics
            #expect(metrics.value("edgevlm_upload_calls_total{encoding=\"gzip\"}") == 1)
            #expect(metrics.value("edgevlm_upload_calls_total{encoding=\"deflate\"}") == 1)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    /// With `acceptCompression = false` a compressed upload is answered UNIMPLEMENTED with the
    /// accepted encodings (no gzip) in the trailers — what the agent's fallback keys on — and
    /// stores nothing; the same batch uncompressed is stored.
    @Test("a coordinator without compression refuses compressed uploads the gRPC way")
    func compressionRefused() async throws {
        guard let harness = try await ServerHarness.start(.sqlite, configure: { $0.acceptCompression = false }) else { return }
        do {
            let (id, credential) = try await harness.withClient { client in
                let token = try await harness.enrollmentToken(client)
                return try await ServerHarness.enroll(client, token: token, hardwareID: "hw-plain")
            }
            let transport = try Self.compressingTransport(harness, default: .none)
            try await withGRPCClient(transport: transport) { client in
                let devices = FleetDeviceService.Client(wrapping: client)
                let auth = FleetAuthorization.metadata(bearer: credential)
                var upload = Edgevlm_Fleet_V1_UploadResultsRequest()
                upload.results = (1...10).map(Self.result)
                var gzip = CallOptions.defaults
                gzip.compression = .gzip
                let refused = await #expect(throws: RPCError.self) {
                    _ = try await devices.uploadResults(upload, metadata: auth, options: gzip)
                }
                #expect(refused?.code == .unimplemented)
                let accepted = refused.map { Array($0.metadata[stringValues: "grpc-accept-encoding"]) } ?? []
                #expect(!accepted.joined(separator: ",").contains("gzip"), "accept-encoding: \(accepted)")
                let plain = try await devices.uploadResults(upload, metadata: auth)
                #expect(plain.inserted == 10)
                var query = Edgevlm_Fleet_V1_QueryResultsRequest()
                query.deviceID = id
                let stored = try await FleetOperatorService.Client(wrapping: client).queryResults(query, metadata: harness.operatorMetadata)
                #expect(stored.results.count == 10)
            }
            #expect(harness.server.core.metrics.value("edgevlm_upload_calls_total{encoding=\"identity\"}") == 1)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test("signed model upload, refusal of unsigned and tampered manifests, rollout pausing on failures",
          arguments: StoreBackend.allCases)
    func modelsAndRollouts(_ backend: StoreBackend) async throws {
        let key = Curve25519.Signing.PrivateKey()
        let stranger = Curve25519.Signing.PrivateKey()
        guard let harness = try await ServerHarness.start(backend, trustedModelKeys: [key.publicKey.rawRepresentation.base64EncodedString()])
        else { return }
        do {
            try await harness.withClient { client in
                let operators = FleetOperatorService.Client(wrapping: client)
                let devices = FleetDeviceService.Client(wrapping: client)
                let op = harness.operatorMetadata
                // Two "GGUF" files (content does not matter to the coordinator).
                let llm = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
                let mmproj = Data("mmproj bytes".utf8)
                var digests: [String] = []
                for file in [llm, mmproj] {
                    let info = try await operators.uploadBlob(metadata: op, requestProducer: { writer in
                        var offset = 0
                        while offset < file.count {
                            var chunk = Edgevlm_Fleet_V1_BlobChunk()
                            chunk.data = file[offset..<min(offset + 65_536, file.count)]
                            try await writer.write(chunk)
                            offset += 65_536
                        }
                    })
                    #expect(info.sha256 == Digests.sha256Hex(file) && info.sizeBytes == UInt64(file.count))
                    digests.append(info.sha256)
                }
                var manifest = FleetModelManifest()
                manifest.name = "minicpm-v"
                manifest.version = "2.6-q4"
                for (role, (digest, data)) in zip(["llm", "mmproj"], zip(digests, [llm, mmproj])) {
                    var file = FleetManifestFile()
                    file.role = role
                    file.fileName = "\(role).gguf"
                    file.sha256 = digest
                    file.sizeBytes = UInt64(data.count)
                    manifest.files.append(file)
                }
                let signed = try ModelSigning.sign(manifest, with: key)
                var register = Edgevlm_Fleet_V1_RegisterModelRequest()
                // Unsigned, signed by an untrusted key, tampered: all refused.
                var unsigned = signed
                unsigned.signature = Data()
                register.signedManifest = unsigned
                await #expect { _ = try await operators.registerModel(register, metadata: op) } throws: {
                    RPCError.Code.of($0) == .invalidArgument
                }
                register.signedManifest = try ModelSigning.sign(manifest, with: stranger)
                await #expect { _ = try await operators.registerModel(register, metadata: op) } throws: {
                    RPCError.Code.of($0) == .invalidArgument
                }
                var tampered = signed
                var changed = manifest
                changed.files[0].sizeBytes += 1
                tampered.manifest = try changed.serializedBytes()
                register.signedManifest = tampered
                await #expect { _ = try await operators.registerModel(register, metadata: op) } throws: {
                    RPCError.Code.of($0) == .invalidArgument
                }
                #expect(try await operators.listModels(.init(), metadata: op).models.isEmpty)
                register.signedManifest = signed
                let model = try await operators.registerModel(register, metadata: op)
                #expect(model.modelDigest == Digests.sha256Hex(signed.manifest))

                // Ten devices; a rollout to all of them in one 100% stage pausing after 3 failures.
                let token = try await harness.enrollmentToken(client, uses: 10, tags: ["kiosk"])
                var fleet: [(String, String)] = []
                for index in 0..<10 { fleet.append(try await ServerHarness.enroll(client, token: token, hardwareID: "k\(index)")) }
                var create = Edgevlm_Fleet_V1_CreateRolloutRequest()
                create.modelDigest = model.modelDigest
                create.targetTags = ["kiosk"]
                var stage = FleetRolloutStage()
                stage.percent = 100
                stage.minDevices = 1
                create.stages = [stage]
                create.policy.maxFailures = 3
                create.policy.successPercent = 100
                let rollout = try await operators.createRollout(create, metadata: op)
                #expect(rollout.devicesAssigned == 10 && rollout.phase == .running)
                // Each device sees the model with its signed manifest and artifact paths.
                let (firstID, firstCredential) = fleet[0]
                let desired = try await devices.getDesiredState(.init(), metadata: FleetAuthorization.metadata(bearer: firstCredential))
                #expect(desired.model.modelDigest == model.modelDigest && desired.model.rolloutID == rollout.rolloutID)
                #expect(desired.model.signedManifest == signed)
                #expect(desired.model.artifactPaths[digests[0]] == "/v1/blobs/\(digests[0])")
                // Range + ETag download with the device credential.
                let auth = ["Authorization": "Bearer \(firstCredential)"]
                let part = try await harness.http("/v1/blobs/\(digests[0])", headers: auth.merging(["Range": "bytes=100-199"]) { $1 })
                #expect(part.status == 206 && part.body == llm[100..<200])
                #expect(part.headers["content-range"] == "bytes 100-199/\(llm.count)")
                #expect(part.headers["etag"] == "\"\(digests[0])\"")
                let whole = try await harness.http("/v1/blobs/\(digests[0])", headers: auth)
                #expect(whole.status == 200 && whole.body == llm)
                let cached = try await harness.http("/v1/blobs/\(digests[0])", headers: auth.merging(["If-None-Match": "\"\(digests[0])\""]) { $1 })
                #expect(cached.status == 304)
                #expect(try await harness.http("/v1/blobs/\(digests[0])").status == 401)
                #expect(try await harness.http("/v1/blobs/\(digests[0])", headers: auth.merging(["Range": "bytes=900000-"]) { $1 }).status == 416)
                // Reports: two succeed, three fail → paused at the threshold.
                func report(_ index: Int, _ state: FleetRolloutDeviceState, _ reason: String = "") async throws {
                    var message = Edgevlm_Fleet_V1_RolloutStatusReport()
                    message.rolloutID = rollout.rolloutID
                    message.modelDigest = model.modelDigest
                    message.state = state
                    message.reason = reason
                    _ = try await devices.reportRolloutStatus(message, metadata: FleetAuthorization.metadata(bearer: fleet[index].1))
                }
                try await report(0, .active)
                try await report(1, .active)
                try await report(2, .failed, "sha256 mismatch on llm.gguf")
                try await report(3, .rolledBack, "canary caption empty")
                var get = Edgevlm_Fleet_V1_GetRolloutRequest()
                get.rolloutID = rollout.rolloutID
                #expect(try await operators.getRollout(get, metadata: op).rollout.phase == .running)
                try await report(4, .failed, "out of disk")
                let detail = try await operators.getRollout(get, metadata: op)
                #expect(detail.rollout.phase == .paused && detail.rollout.devicesFailed == 3)
                #expect(detail.rollout.phaseReason.contains("3 device failures"))
                #expect(Set(detail.devices.map(\.reason).filter { !$0.isEmpty })
                        == ["sha256 mismatch on llm.gguf", "canary caption empty", "out of disk"])
                // Dashboard shows the rollout, its failure reasons and the fleet.
                let page = try await harness.http("/?token=\(harness.adminToken)")
                let html = String(decoding: page.body, as: UTF8.self)
                #expect(page.status == 200 && html.contains(rollout.rolloutID) && html.contains("out of disk") && html.contains(firstID))
                #expect(try await harness.http("/").status == 401)
                // Resume, then roll back: devices are sent back to no model.
                var action = Edgevlm_Fleet_V1_RolloutActionRequest()
                action.rolloutID = rollout.rolloutID
                #expect(try await operators.resumeRollout(action, metadata: op).phase == .running)
                action.reason = "captions got worse"
                #expect(try await operators.rollbackRollout(action, metadata: op).phase == .rolledBack)
                let after = try await devices.getDesiredState(.init(), metadata: FleetAuthorization.metadata(bearer: firstCredential))
                #expect(!after.hasModel)
                await #expect { _ = try await operators.resumeRollout(action, metadata: op) } throws: {
                    RPCError.Code.of($0) == .failedPrecondition
                }
                // A device outside the rollout cannot report into it.
                let (_, outsider) = try await ServerHarness.enroll(client, token: try await harness.enrollmentToken(client, tags: ["x"]), hardwareID: "o")
                var foreign = Edgevlm_Fleet_V1_RolloutStatusReport()
                foreign.rolloutID = rollout.rolloutID
                foreign.state = .failed
                await #expect {
                    _ = try await devices.reportRolloutStatus(foreign, metadata: FleetAuthorization.metadata(bearer: outsider))
                } throws: { RPCError.Code.of($0) == .permissionDenied }
            }
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }
}
