import Coordinator
import Crypto
import FleetProtocol
import Foundation
import GRPCCore
import Testing

/// The real `edgevlm-coordinator` binary started by the test on loopback (TLS, SQLite), used by
/// clients over gRPC: enroll → heartbeat → upload (retried) → stop → restart → revoked refused.
@Suite("edgevlm-coordinator process", .serialized)
struct ProcessIntegrationTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    struct Running {
        let process: Process
        let grpcPort: Int
        let httpPort: Int
    }

    static func binary() throws -> URL {
        // swift test builds every product into the same folder as the test bundle.
        let candidates = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("edgevlm-coordinator") }
            + [repoRoot.appendingPathComponent(".build/debug/edgevlm-coordinator")]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw CoordinatorError(.notFound, "edgevlm-coordinator binary not built; run `swift build --product edgevlm-coordinator`",
                                   context: candidates.map(\.path).joined(separator: ", "))
        }
        return found
    }

    static func start(state: URL, extraArguments: [String] = []) throws -> Running {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = ["serve", "--state-dir", state.path, "--grpc-host", "127.0.0.1", "--grpc-port", "0",
                             "--http-host", "127.0.0.1", "--http-port", "0"] + extraArguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // Read the announce line: "edgevlm-coordinator listening grpc=N http=M tls state=..."
        var line = Data()
        let handle = output.fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty {
                throw CoordinatorError(.io, "coordinator exited before listening (status \(process.terminationStatus))")
            }
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        func field(_ name: String) -> Int? {
            text.split(separator: " ").first { $0.hasPrefix("\(name)=") }.flatMap { Int($0.dropFirst(name.count + 1)) }
        }
        guard let grpc = field("grpc"), let http = field("http"), text.contains(" tls ") else {
            throw CoordinatorError(.io, "unexpected announce line", context: text)
        }
        return Running(process: process, grpcPort: grpc, httpPort: http)
    }

    static func stop(_ running: Running) {
        running.process.terminate()  // SIGTERM: graceful shutdown
        running.process.waitUntilExit()
    }

    @Test("binary: enroll, heartbeat, retried upload, restart, revocation")
    func binaryEndToEnd() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-proc-\(UUID().uuidString)")
        var running = try Self.start(state: state)
        defer { Self.stop(running) }
        let ca = try String(contentsOf: state.appendingPathComponent("tls/ca.pem"), encoding: .utf8)
        let admin = try String(contentsOf: state.appendingPathComponent("admin.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let op = FleetAuthorization.metadata(bearer: admin)
        var upload = Edgevlm_Fleet_V1_UploadResultsRequest()
        upload.results = (1...20).map { ServerTests.result($0) }
        let (id, credential) = try await ServerHarness.withClient(port: running.grpcPort, caPEM: ca) { client in
            var tokenRequest = Edgevlm_Fleet_V1_CreateEnrollmentTokenRequest()
            tokenRequest.maxUses = 1
            let token = try await FleetOperatorService.Client(wrapping: client).createEnrollmentToken(tokenRequest, metadata: op).token
            let (id, credential) = try await ServerHarness.enroll(client, token: token, hardwareID: "proc-1")
            let devices = FleetDeviceService.Client(wrapping: client)
            let auth = FleetAuthorization.metadata(bearer: credential)
            _ = try await devices.heartbeat(.init(), metadata: auth)
            #expect(try await devices.uploadResults(upload, metadata: auth).inserted == 20)
            return (id, credential)
        }
        // Restart the coordinator (SIGTERM, graceful) and retry the same batch: acknowledged, not duplicated.
        Self.stop(running)
        #expect(running.process.terminationStatus == 0)
        running = try Self.start(state: state)
        try await ServerHarness.withClient(port: running.grpcPort, caPEM: ca) { client in
            let devices = FleetDeviceService.Client(wrapping: client)
            let operators = FleetOperatorService.Client(wrapping: client)
            let auth = FleetAuthorization.metadata(bearer: credential)
            let retry = try await devices.uploadResults(upload, metadata: auth)
            #expect(retry.inserted == 0 && retry.ackedSeqs.count == 20)
            var query = Edgevlm_Fleet_V1_QueryResultsRequest()
            query.deviceID = id
            #expect(try await operators.queryResults(query, metadata: op).results.count == 20)
            var revoke = Edgevlm_Fleet_V1_RevokeDeviceRequest()
            revoke.deviceID = id
            _ = try await operators.revokeDevice(revoke, metadata: op)
            await #expect { _ = try await devices.heartbeat(.init(), metadata: auth) } throws: {
                RPCError.Code.of($0) == .unauthenticated
            }
        }
        // A client that does not trust the coordinator's CA cannot talk to it.
        await #expect(throws: (any Error).self) {
            try await ServerHarness.withClient(port: running.grpcPort, caPEM: nil) { client in
                _ = try await FleetDeviceService.Client(wrapping: client).heartbeat(.init())
            }
        }
        let health = try await ServerHarness.http(port: running.httpPort, "/healthz")
        #expect(health.status == 200)
    }

    /// Runs `edgevlm-coordinator ARGS`; returns (status, stdout, stderr).
    static func run(_ arguments: [String]) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    @Test("operator commands: enrollment token, devices and results over TLS")
    func operatorCommands() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-ops-\(UUID().uuidString)")
        let running = try Self.start(state: state)
        defer { Self.stop(running) }
        let connection = ["--state-dir", state.path, "--grpc-port", String(running.grpcPort)]
        let (status, token, _) = try Self.run(["enrollment-token", "--max-uses", "1", "--tag", "kiosk"] + connection)
        #expect(status == 0)
        let ca = try String(contentsOf: state.appendingPathComponent("tls/ca.pem"), encoding: .utf8)
        let (id, credential) = try await ServerHarness.withClient(port: running.grpcPort, caPEM: ca) { client in
            try await ServerHarness.enroll(client, token: token.trimmingCharacters(in: .whitespacesAndNewlines), hardwareID: "ops-1")
        }
        try await ServerHarness.withClient(port: running.grpcPort, caPEM: ca) { client in
            var upload = Edgevlm_Fleet_V1_UploadResultsRequest()
            upload.results = (1...3).map { ServerTests.result($0) }
            _ = try await FleetDeviceService.Client(wrapping: client).uploadResults(upload, metadata: FleetAuthorization.metadata(bearer: credential))
        }
        let (devicesStatus, devices, _) = try Self.run(["devices", "--tag", "kiosk"] + connection)
        #expect(devicesStatus == 0)
        #expect(devices.split(separator: "\n").count == 1 && devices.contains(id))
        let (resultsStatus, results, _) = try Self.run(["results", "--device", id] + connection)
        #expect(resultsStatus == 0)
        #expect(results.split(separator: "\n").count == 3)
        // Without the operator token: a clear error naming the file, non-zero status.
        let (badStatus, _, badError) = try Self.run(["devices", "--token-file", "/nonexistent/token"] + connection)
        #expect(badStatus != 0 && badError.contains("/nonexistent/token"))
    }

    @Test("operator commands: rollouts create, list, show, pause, resume, rollback")
    func rolloutCommands() async throws {
        let key = Curve25519.Signing.PrivateKey()
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-rollouts-\(UUID().uuidString)")
        let running = try Self.start(state: state, extraArguments: ["--trust-model-key", key.publicKey.rawRepresentation.base64EncodedString()])
        defer { Self.stop(running) }
        let connection = ["--state-dir", state.path, "--grpc-port", String(running.grpcPort)]
        let ca = try String(contentsOf: state.appendingPathComponent("tls/ca.pem"), encoding: .utf8)
        let operatorToken = try String(contentsOf: state.appendingPathComponent("admin.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // A registered model and three kiosk devices, made through the API.
        let digest = try await ServerHarness.withClient(port: running.grpcPort, caPEM: ca) { client in
            let operators = FleetOperatorService.Client(wrapping: client)
            let op = FleetAuthorization.metadata(bearer: operatorToken)
            var manifest = FleetModelManifest()
            manifest.name = "demo"
            manifest.version = "2"
            for role in ["llm", "mmproj"] {
                let bytes = Data("\(role) bytes".utf8)
                let info = try await operators.uploadBlob(metadata: op, requestProducer: { writer in
                    var chunk = Edgevlm_Fleet_V1_BlobChunk()
                    chunk.data = bytes
                    try await writer.write(chunk)
                })
                var file = FleetManifestFile()
                file.role = role
                file.fileName = "\(role).gguf"
                file.sha256 = info.sha256
                file.sizeBytes = info.sizeBytes
                manifest.files.append(file)
            }
            var register = Edgevlm_Fleet_V1_RegisterModelRequest()
            register.signedManifest = try ModelSigning.sign(manifest, with: key)
            let model = try await operators.registerModel(register, metadata: op)
            var tokenRequest = Edgevlm_Fleet_V1_CreateEnrollmentTokenRequest()
            tokenRequest.maxUses = 3
            tokenRequest.tags = ["kiosk"]
            let token = try await operators.createEnrollmentToken(tokenRequest, metadata: op).token
            for index in 0..<3 { _ = try await ServerHarness.enroll(client, token: token, hardwareID: "r\(index)") }
            return model.modelDigest
        }

        // Bad arguments are refused before anything is sent.
        let (badStage, _, badStageError) = try Self.run(["rollouts", "create", "--model", digest, "--stage", "10", "--stage", "50"] + connection)
        #expect(badStage != 0 && badStageError.contains("last --stage must be 100"), "\(badStageError)")
        let (unknown, _, unknownError) = try Self.run(["rollouts", "create", "--model", String(repeating: "0", count: 64)] + connection)
        #expect(unknown != 0 && !unknownError.isEmpty)

        let (status, created, createError) = try Self.run(
            ["rollouts", "create", "--model", digest, "--tag", "kiosk", "--stage", "50:1:0", "--stage", "100:1:0",
             "--max-failures", "1"] + connection)
        #expect(status == 0, "\(createError)")
        let rollout = try Edgevlm_Fleet_V1_Rollout(jsonString: created)
        #expect(rollout.modelDigest == digest && rollout.phase == .running && rollout.devicesTarget == 3)
        #expect(rollout.stages.map(\.percent) == [50, 100] && rollout.policy.maxFailures == 1)

        let (_, listed, _) = try Self.run(["rollouts", "list"] + connection)
        #expect(listed.split(separator: "\n").count == 1 && listed.contains(rollout.rolloutID))
        let (_, shown, _) = try Self.run(["rollouts", "show", rollout.rolloutID] + connection)
        let detail = try Edgevlm_Fleet_V1_RolloutDetail(jsonString: shown)
        #expect(detail.rollout.rolloutID == rollout.rolloutID && detail.devices.count == Int(rollout.devicesAssigned))

        let (_, paused, _) = try Self.run(["rollouts", "pause", rollout.rolloutID, "--reason", "checking a report"] + connection)
        let pausedRollout = try Edgevlm_Fleet_V1_Rollout(jsonString: paused)
        #expect(pausedRollout.phase == .paused && pausedRollout.phaseReason.contains("checking a report"))
        let (_, resumed, _) = try Self.run(["rollouts", "resume", rollout.rolloutID] + connection)
        #expect(try Edgevlm_Fleet_V1_Rollout(jsonString: resumed).phase == .running)
        let (rollbackStatus, rolledBack, rollbackError) = try Self.run(["rollouts", "rollback", rollout.rolloutID, "--reason", "bad captions"] + connection)
        #expect(rollbackStatus == 0, "\(rollbackError)")
        #expect(try Edgevlm_Fleet_V1_Rollout(jsonString: rolledBack).phase == .rolledBack)
        let (missing, _, missingError) = try Self.run(["rollouts", "show", "no-such-rollout"] + connection)
        #expect(missing != 0 && !missingError.isEmpty)
    }
}
