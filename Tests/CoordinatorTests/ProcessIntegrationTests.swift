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

    /// Parses one JSON object printed by an operator command.
    static func object(_ text: String) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(parsed as? [String: Any], "not a JSON object: \(text)")
    }

    @Test("operator commands: models list and rollouts create, list, show, pause, resume, abort, rollback")
    func rolloutCommands() async throws {
        let key = Curve25519.Signing.PrivateKey()
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-rollouts-\(UUID().uuidString)")
        let running = try Self.start(state: state, extraArguments: ["--trust-model-key", key.publicKey.rawRepresentation.base64EncodedString()])
        defer { Self.stop(running) }
        let connection = ["--state-dir", state.path, "--grpc-port", String(running.grpcPort)]
        let (emptyStatus, empty, _) = try Self.run(["models", "list"] + connection)
        #expect(emptyStatus == 0 && empty.isEmpty)

        // Register a signed model over gRPC (publishing is another command's job).
        let ca = try String(contentsOf: state.appendingPathComponent("tls/ca.pem"), encoding: .utf8)
        let admin = try String(contentsOf: state.appendingPathComponent("admin.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let digest = try await ServerHarness.withClient(port: running.grpcPort, caPEM: ca) { client in
            let operators = FleetOperatorService.Client(wrapping: client)
            let op = FleetAuthorization.metadata(bearer: admin)
            var manifest = FleetModelManifest()
            manifest.name = "demo"
            manifest.version = "1"
            for role in ["llm", "mmproj"] {
                let data = Data("\(role) bytes".utf8)
                let info = try await operators.uploadBlob(metadata: op, requestProducer: { writer in
                    var chunk = Edgevlm_Fleet_V1_BlobChunk()
                    chunk.data = data
                    try await writer.write(chunk)
                })
                var file = FleetManifestFile()
                file.role = role
                file.fileName = "\(role).gguf"
                file.sha256 = info.sha256
                file.sizeBytes = UInt64(data.count)
                manifest.files.append(file)
            }
            var register = Edgevlm_Fleet_V1_RegisterModelRequest()
            register.signedManifest = try ModelSigning.sign(manifest, with: key)
            return try await operators.registerModel(register, metadata: op).modelDigest
        }
        let (listStatus, models, _) = try Self.run(["models", "list"] + connection)
        #expect(listStatus == 0 && models.split(separator: "\n").count == 1)
        #expect(try Self.object(models)["modelDigest"] as? String == digest)

        // Bad stages are refused before anything is sent.
        let (badStatus, _, badError) = try Self.run(["rollouts", "create", "--model", digest, "--stages", "10,50"] + connection)
        #expect(badStatus != 0 && badError.contains("--stages"))

        let (createStatus, created, createError) = try Self.run(
            ["rollouts", "create", "--model", digest, "--tags", "kiosk,lobby", "--stages", "1,10,50,100", "--min-devices", "2",
             "--soak", "30m", "--failure-threshold", "5%", "--min-finished", "4"] + connection)
        #expect(createStatus == 0, "\(createError)")
        let rollout = try Self.object(created)
        let id = try #require(rollout["rolloutId"] as? String)
        #expect(rollout["modelDigest"] as? String == digest)
        #expect(rollout["targetTags"] as? [String] == ["kiosk", "lobby"])
        let stages = try #require(rollout["stages"] as? [[String: Any]])
        #expect(stages.compactMap { $0["percent"] as? Int } == [1, 10, 50, 100])
        #expect(stages.allSatisfy { $0["minDevices"] as? Int == 2 && $0["soakSeconds"] as? Int == 1800 })
        let policy = try #require(rollout["policy"] as? [String: Any])
        #expect(policy["maxFailurePercent"] as? Int == 5 && policy["minFinishedForFailurePercent"] as? Int == 4)

        let (_, listed, _) = try Self.run(["rollouts", "list"] + connection)
        #expect(try listed.split(separator: "\n").map { try Self.object(String($0))["rolloutId"] as? String } == [id])
        let (showStatus, shown, _) = try Self.run(["rollouts", "show", id] + connection)
        #expect(showStatus == 0)
        #expect((try Self.object(shown)["rollout"] as? [String: Any])?["rolloutId"] as? String == id)

        for (action, phase) in [("pause", "ROLLOUT_PHASE_PAUSED"), ("resume", "ROLLOUT_PHASE_RUNNING"),
                                ("abort", "ROLLOUT_PHASE_ABORTED"), ("rollback", "ROLLOUT_PHASE_ROLLED_BACK")] {
            let (status, out, err) = try Self.run(["rollouts", action, id, "--reason", "test \(action)"] + connection)
            #expect(status == 0, "\(action): \(err)")
            let after = try Self.object(out)
            #expect(after["phase"] as? String == phase, "\(action)")
            #expect(after["phaseReason"] as? String == "test \(action)" || action == "resume")
        }
        // An action the phase does not allow: non-zero status and the coordinator's reason.
        let (resumeStatus, _, resumeError) = try Self.run(["rollouts", "resume", id] + connection)
        #expect(resumeStatus != 0 && !resumeError.isEmpty)
        let (unknownStatus, _, _) = try Self.run(["rollouts", "show", "no-such-rollout"] + connection)
        #expect(unknownStatus != 0)
    }
}
