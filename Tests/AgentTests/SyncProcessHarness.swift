#if canImport(Glibc)
import Glibc
#endif
import Agent
import FleetProtocol
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GRPCCore
import GRPCNIOTransportHTTP2
import JobQueue

/// Real processes for the sync integration tests: the `edgevlm-coordinator serve` binary (TLS,
/// SQLite, loopback) and the agent test host (the real Agent services, deterministic engine).
enum SyncProcessHarness {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    struct MissingBinary: Error, CustomStringConvertible {
        var description: String
    }

    /// A built product next to the test bundle or in `.build/debug`.
    static func binary(_ name: String) throws -> URL {
        let candidates = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent(name) }
            + [repoRoot.appendingPathComponent(".build/debug/\(name)")]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw MissingBinary(description: "\(name) is not built; run `swift build --build-tests` (looked in \(candidates.map(\.path)))")
        }
        return found
    }

    static func temporaryDirectory(_ label: String) throws -> URL {
        let url = URL(fileURLWithPath: "/tmp").appendingPathComponent("evs-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// `edgevlm-coordinator serve` on 127.0.0.1 with TLS (or `--insecure-plaintext`);
    /// restartable on the same gRPC port.
    final class Coordinator: @unchecked Sendable {
        // @unchecked: used from one test task at a time.
        let state: URL
        let plaintext: Bool
        private(set) var process: Process?
        private(set) var grpcPort = 0
        private(set) var httpPort = 0
        private(set) var adminToken = ""
        /// Extra `serve` arguments (e.g. `--trust-model-key`).
        var extraArguments: [String] = []
        /// Address gRPC and HTTP listen on ("0.0.0.0" to be reachable from a network namespace).
        var bindHost = "127.0.0.1"
        /// `serve --database` value (a PostgreSQL URL); nil: the SQLite file in `state`.
        var database: String?

        init(state: URL, plaintext: Bool = false) {
            self.state = state
            self.plaintext = plaintext
        }

        var caPath: String { state.appendingPathComponent("tls/ca.pem").path }

        /// Starts (or restarts on the port it had) and waits for its announce line.
        func start() throws {
            let process = Process()
            process.executableURL = try SyncProcessHarness.binary("edgevlm-coordinator")
            process.arguments = ["serve", "--state-dir", state.path, "--grpc-host", bindHost, "--grpc-port", "\(grpcPort)",
                                 "--http-host", bindHost, "--http-port", "0", "--poll-interval", "1"]
                + (plaintext ? ["--insecure-plaintext"] : []) + (database.map { ["--database", $0] } ?? []) + extraArguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
            var line = Data()
            let handle = output.fileHandleForReading
            while !line.contains(UInt8(ascii: "\n")) {
                let byte = handle.readData(ofLength: 1)
                if byte.isEmpty { throw MissingBinary(description: "coordinator exited before listening") }
                line.append(byte)
            }
            let text = String(decoding: line, as: UTF8.self)
            guard let field = text.split(separator: " ").first(where: { $0.hasPrefix("grpc=") }), let port = Int(field.dropFirst(5)),
                  text.contains(plaintext ? " plaintext " : " tls ") else {
                throw MissingBinary(description: "unexpected announce line: \(text)")
            }
            grpcPort = port
            if let field = text.split(separator: " ").first(where: { $0.hasPrefix("http=") }), let http = Int(field.dropFirst(5)) {
                httpPort = http
            }
            self.process = process
            adminToken = try String(contentsOf: state.appendingPathComponent("admin.token"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// SIGTERM and wait (graceful shutdown).
        func stop() {
            guard let process else { return }
            process.terminate()
            process.waitUntilExit()
            self.process = nil
        }

        /// Runs `body` with an operator client over TLS trusting the coordinator's CA.
        func withOperator<T: Sendable>(_ body: (FleetOperatorService.Client<HTTP2ClientTransport.Posix>, Metadata) async throws -> T)
            async throws -> T {
            let security: HTTP2ClientTransport.Posix.TransportSecurity
            if plaintext {
                security = .plaintext
            } else {
                let ca = try String(contentsOfFile: caPath, encoding: .utf8)
                security = .tls { $0.trustRoots = .certificates([.bytes(Array(ca.utf8), format: .pem)]) }
            }
            let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: grpcPort),
                                                           transportSecurity: security)
            let metadata = FleetAuthorization.metadata(bearer: adminToken)
            return try await withGRPCClient(transport: transport) { client in
                try await body(FleetOperatorService.Client(wrapping: client), metadata)
            }
        }

        func enrollmentToken() async throws -> String {
            try await withOperator { client, metadata in
                var request = Edgevlm_Fleet_V1_CreateEnrollmentTokenRequest()
                request.maxUses = 1
                request.tags = ["sync-test"]
                return try await client.createEnrollmentToken(request, metadata: metadata).token
            }
        }

        /// Every stored result of `deviceID`.
        func results(deviceID: String) async throws -> [Edgevlm_Fleet_V1_StoredResult] {
            try await withOperator { client, metadata in
                var query = Edgevlm_Fleet_V1_QueryResultsRequest()
                query.deviceID = deviceID
                query.limit = 10_000
                return try await client.queryResults(query, metadata: metadata).results
            }
        }

        func devices() async throws -> [Edgevlm_Fleet_V1_Device] {
            try await withOperator { client, metadata in
                var request = Edgevlm_Fleet_V1_ListDevicesRequest()
                request.limit = 100
                return try await client.listDevices(request, metadata: metadata).devices
            }
        }

        /// The value of counter `name` (with labels, as printed) on the coordinator's `/metrics`;
        /// 0 when it was never incremented.
        func counter(_ name: String) async throws -> Int64 {
            guard let url = URL(string: "http://127.0.0.1:\(httpPort)/metrics") else {
                throw MissingBinary(description: "no metrics URL for HTTP port \(httpPort)")
            }
            let (data, _) = try await URLSession.shared.data(from: url)
            let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix(name + " ") }
            return line.flatMap { Int64($0.dropFirst(name.count + 1)) } ?? 0
        }

        func revoke(deviceID: String) async throws {
            try await withOperator { client, metadata in
                var request = Edgevlm_Fleet_V1_RevokeDeviceRequest()
                request.deviceID = deviceID
                request.reason = "sync integration test"
                _ = try await client.revokeDevice(request, metadata: metadata)
            }
        }
    }

    /// The agent test host with a sync-enabled configuration; images arrive through the inbox.
    final class AgentProcess: @unchecked Sendable {
        // @unchecked: used from one test task at a time.
        let state: URL
        private(set) var process: Process?
        private var filesWritten = 0
        /// Added to the inherited environment at `start` (e.g. the test host's fault injection).
        var environment: [String: String] = [:]

        /// Network namespace the host runs in (`ip netns exec`), nil: the test's own.
        let namespace: String?

        /// `extraSync` is appended to the `[sync]` table (e.g. `windows = [...]`), `extraTOML` after
        /// it (e.g. a `[models]` section). `coordinatorHost` is the address the agent dials.
        init(state: URL, coordinator: Coordinator, token: String, batchSize: Int = 5, extraSync: String = "",
             coordinatorHost: String = "127.0.0.1", namespace: String? = nil, extraTOML: String = "") throws {
            self.state = state
            self.namespace = namespace
            let toml = """
                [state]
                directory = "\(state.path)"
                [queue]
                lease_seconds = 5
                [inbox]
                stable_seconds = 0.05
                [retention]
                max_age_hours = 0
                max_image_mib = 0
                [api]
                socket = "\(state.path)/agent.sock"
                [sync]
                enabled = true
                coordinator = "\(coordinatorHost):\(coordinator.grpcPort)"
                enrollment_token = "\(token)"
                \(coordinator.plaintext ? "insecure_plaintext = true" : "ca_file = \"\(coordinator.caPath)\"")
                hardware_id = "hw-\(UUID().uuidString)"
                batch_size = \(batchSize)
                poll_interval_seconds = 1
                min_upload_interval_seconds = 0.1
                backoff_base_seconds = 0.1
                backoff_max_seconds = 0.5
                refused_retry_seconds = 3600
                request_timeout_seconds = 5
                \(extraSync)
                \(extraTOML)
                """
            try FileManager.default.createDirectory(at: state.appendingPathComponent("inbox"), withIntermediateDirectories: true)
            try Data(toml.utf8).write(to: configURL)
        }

        var configURL: URL { state.appendingPathComponent("agent.toml") }
        var client: LocalAPIClient { LocalAPIClient(socketPath: state.path + "/agent.sock") }

        func start() throws {
            let process = Process()
            let host = try SyncProcessHarness.binary("edgevlm-agent-testhost")
            if let namespace {
                // `ip netns exec` execs the host: the same pid, so signals reach it.
                process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
                process.arguments = ["netns", "exec", namespace, host.path, configURL.path, "10"]
            } else {
                process.executableURL = host
                process.arguments = [configURL.path, "10"]
            }
            if !environment.isEmpty {
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            }
            let log = state.appendingPathComponent("agent.log")
            if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
            let handle = try FileHandle(forWritingTo: log)
            handle.seekToEndOfFile()
            process.standardError = handle
            process.standardOutput = handle
            try process.run()
            self.process = process
        }

        /// True while the process runs.
        var isRunning: Bool { process?.isRunning ?? false }

        func kill9() {
            guard let process else { return }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            self.process = nil
        }

        func stop() {
            guard let process else { return }
            process.terminate()
            process.waitUntilExit()
            self.process = nil
        }

        /// The device id once the agent has enrolled (polled for up to `seconds`); nil if it did not.
        func enrolledDeviceID(within seconds: Double = 20) async -> String? {
            _ = await SyncProcessHarness.eventually(seconds) { syncStatus()?.deviceID != nil }
            return syncStatus()?.deviceID
        }

        /// Drops `count` distinct JPEG-looking files into the inbox (rename: atomic arrival).
        func addImages(_ count: Int) throws {
            for _ in 0..<count {
                filesWritten += 1
                var bytes: [UInt8] = [0xff, 0xd8, 0xff, 0xe0]
                bytes += Array("image \(filesWritten) \(UUID().uuidString)".utf8)
                let part = state.appendingPathComponent("inbox/.img-\(filesWritten).part")
                try Data(bytes).write(to: part)
                try FileManager.default.moveItem(at: part, to: state.appendingPathComponent("inbox/img-\(filesWritten).jpg"))
            }
        }

        /// `GET /v1/sync`, or nil while the API is not up.
        func syncStatus() -> SyncStatus? {
            guard let response = try? client.request("GET", "/v1/sync"), response.status == 200 else { return nil }
            return try? JSONDecoder().decode(SyncStatus.self, from: response.body)
        }

        /// Jobs in state done, from the API (nil while it is not up).
        func doneCount() -> Int? {
            guard let response = try? client.request("GET", "/v1/jobs?state=done&limit=1000"), response.status == 200,
                  let array = try? JSONSerialization.jsonObject(with: response.body) as? [Any] else { return nil }
            return array.count
        }

        /// (job id, caption) of every done job, read from the queue database (agent stopped).
        func localResults() throws -> [String: String] {
            let queue = try JobQueue(path: state.path + "/queue.sqlite")
            defer { queue.close() }
            var results: [String: String] = [:]
            for job in try queue.jobs(state: .done, limit: 100_000) {
                if let record = try queue.result(jobID: job.id) { results[String(job.id)] = record.result.text }
            }
            return results
        }
    }

    /// The set-up every sync integration test shares: a temporary folder (removed afterwards)
    /// holding a coordinator (`plaintext`, extra `serve` flags `coordinatorFlags`) and one agent
    /// with a fresh one-use enrollment token (`batchSize`, `extraSync` as in `AgentProcess`),
    /// both started — the agent after `beforeAgentStarts` ran on it — and both stopped after
    /// `body`. Under `scripts/with-postgres.sh` (EDGEVLM_TEST_POSTGRES_URL set) the coordinator
    /// runs on a new PostgreSQL database of that server, otherwise on SQLite in its state folder.
    static func withCoordinatorAndAgent(
        _ label: String, plaintext: Bool = false, coordinatorFlags: [String] = [], batchSize: Int = 5,
        extraSync: String = "", beforeAgentStarts: (AgentProcess) throws -> Void = { _ in },
        _ body: (Coordinator, AgentProcess) async throws -> Void
    ) async throws {
        let root = try temporaryDirectory(label)
        defer { try? FileManager.default.removeItem(at: root) }
        let coordinator = Coordinator(state: root.appendingPathComponent("coord"), plaintext: plaintext)
        coordinator.extraArguments = coordinatorFlags
        coordinator.database = try freshPostgresDatabase()
        try coordinator.start()
        defer { coordinator.stop() }
        let agent = try AgentProcess(state: root.appendingPathComponent("agent"), coordinator: coordinator,
                                     token: try await coordinator.enrollmentToken(), batchSize: batchSize,
                                     extraSync: extraSync)
        try beforeAgentStarts(agent)
        try agent.start()
        defer { agent.stop() }
        try await body(coordinator, agent)
    }

    /// A new empty database on the server named by EDGEVLM_TEST_POSTGRES_URL (created with
    /// `psql`), as a URL; nil when the variable is not set.
    static func freshPostgresDatabase() throws -> String? {
        guard let admin = ProcessInfo.processInfo.environment["EDGEVLM_TEST_POSTGRES_URL"], !admin.isEmpty,
              var components = URLComponents(string: admin) else { return nil }
        let name = "sync_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        psql.arguments = ["psql", admin, "-qAtc", "CREATE DATABASE \(name)"]
        try psql.run()
        psql.waitUntilExit()
        guard psql.terminationStatus == 0 else {
            throw MissingBinary(description: "psql could not create database \(name) on \(admin) (exit \(psql.terminationStatus))")
        }
        components.path = "/\(name)"
        return components.string
    }

    /// Polls `condition` every 50 ms until it holds or `seconds` pass; returns whether it held.
    static func eventually(_ seconds: Double, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }
}
