import ArgumentParser
import FleetProtocol
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// `edgevlm-loadgen`: simulated devices against a running coordinator on loopback. Each
/// device "cycle" is what one device does per sync interval: one heartbeat and one upload of
/// `--batch` results, as two calls (Heartbeat + UploadResults) or, with `--sync-call`, one
/// `Sync` call. Reports cycles/s, per-call p50/p99, the devices that rate sustains at
/// `--interval` seconds and, given the process ids, CPU seconds per 1,000 cycles per process.
@main
struct LoadGen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgevlm-loadgen", abstract: "Simulated devices for load-testing the coordinator.")

    @Option(help: "Coordinator gRPC port on 127.0.0.1.") var port: Int
    @Option(help: "PEM file of the coordinator CA (omit with --plaintext).") var ca: String?
    @Flag(help: "Connect without TLS.") var plaintext = false
    @Option(help: "Operator token (or a file holding it with @PATH).") var operatorToken: String
    @Option(help: "Devices to enroll and cycle through.") var devices = 1000
    @Option(help: "Concurrent calls in flight.") var concurrency = 64
    @Option(help: "gRPC connections to spread calls over.") var connections = 4
    @Option(help: "Results per upload.") var batch = 5
    @Option(help: "Seconds to run after enrollment.") var duration = 20
    @Option(help: "Sync interval (s) for the sustainable-devices figure.") var interval = 60
    @Option(help: "Coordinator process id: report its CPU seconds over the timed phase (Linux /proc).") var coordinatorPid: Int32?
    @Option(help: "Database server process id: report its and its children's CPU over the timed phase.") var databasePid: Int32?
    @Flag(help: "One Sync call per cycle instead of Heartbeat + UploadResults.") var syncCall = false
    @Option(help: "Device credentials, one per line: read when the file exists (enrollment skipped; its first --devices used), written after enrolling when it does not — so runs against one database share one enrolled population.")
    var credentialsFile: String?

    func run() async throws {
        let token = operatorToken.hasPrefix("@")
            ? try String(contentsOfFile: String(operatorToken.dropFirst()), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            : operatorToken
        let security: HTTP2ClientTransport.Posix.TransportSecurity
        if plaintext {
            security = .plaintext
        } else {
            guard let ca else { throw ValidationError("--ca is required unless --plaintext") }
            let pem = try String(contentsOfFile: ca, encoding: .utf8)
            security = .tls { $0.trustRoots = .certificates([.bytes(Array(pem.utf8), format: .pem)]) }
        }
        let transports = try (0..<max(1, connections)).map { _ in
            try HTTP2ClientTransport.Posix(target: .ipv4(host: "127.0.0.1", port: port), transportSecurity: security)
        }
        let clients = transports.map { GRPCClient(transport: $0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { try await client.runConnections() } }
            defer { for client in clients { client.beginGracefulShutdown() } }
            try await exercise(clients: clients, operatorToken: token)
        }
    }

    func exercise(clients: [GRPCClient<HTTP2ClientTransport.Posix>], operatorToken: String) async throws {
        let credentials: [String]
        if let credentialsFile, FileManager.default.fileExists(atPath: credentialsFile) {
            let stored = try String(contentsOfFile: credentialsFile, encoding: .utf8).split(separator: "\n").map(String.init)
            guard stored.count >= devices else {
                throw ValidationError("\(credentialsFile) holds \(stored.count) credentials, fewer than --devices \(devices)")
            }
            credentials = Array(stored.prefix(devices))
            print("read \(credentials.count) device credentials from \(credentialsFile) (enrollment skipped)")
        } else {
            credentials = try await enroll(clients: clients, operatorToken: operatorToken)
            if let credentialsFile {
                try Data(credentials.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: credentialsFile))
            }
        }
        try await cycle(clients: clients, credentials: credentials)
    }

    /// Enrolls `devices` devices through the Enroll RPC (the coordinator's real enrollment path),
    /// `concurrency` at a time; returns their credentials.
    func enroll(clients: [GRPCClient<HTTP2ClientTransport.Posix>], operatorToken: String) async throws -> [String] {
        let operators = FleetOperatorService.Client(wrapping: clients[0])
        var tokenRequest = Edgevlm_Fleet_V1_CreateEnrollmentTokenRequest()
        tokenRequest.maxUses = UInt32(devices)
        tokenRequest.tags = ["loadgen"]
        let enrollment = try await operators.createEnrollmentToken(tokenRequest, metadata: FleetAuthorization.metadata(bearer: operatorToken)).token
        let runID = Secrets.hex(8)
        let enrollStart = ContinuousClock.now
        let credentials = try await withThrowingTaskGroup(of: [String].self) { group in
            let perTask = (devices + concurrency - 1) / concurrency
            for worker in 0..<concurrency {
                group.addTask {
                    let client = FleetDeviceService.Client(wrapping: clients[worker % clients.count])
                    var out: [String] = []
                    for index in stride(from: worker * perTask, to: min(devices, (worker + 1) * perTask), by: 1) {
                        var request = Edgevlm_Fleet_V1_EnrollRequest()
                        request.enrollmentToken = enrollment
                        request.hardwareID = "load-\(runID)-\(index)"
                        out.append(try await client.enroll(request).credential)
                    }
                    return out
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        let enrollSeconds = (ContinuousClock.now - enrollStart).seconds
        print(String(format: "enrolled %d devices in %.1f s (%.0f/s)", credentials.count, enrollSeconds,
                     Double(credentials.count) / enrollSeconds))
        return credentials
    }

    /// The timed phase: device cycles over `credentials` for `duration` seconds, then the report.
    func cycle(clients: [GRPCClient<HTTP2ClientTransport.Posix>], credentials: [String]) async throws {
        let runSeqBase = UInt64.random(in: 0..<(1 << 16)) << 47
        let deadline = ContinuousClock.now + .seconds(duration)
        let start = ContinuousClock.now
        let cpuStart = CPUSample.take(coordinator: coordinatorPid, databaseParent: databasePid)
        let perWorker = try await withThrowingTaskGroup(of: WorkerStats.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    let client = FleetDeviceService.Client(wrapping: clients[worker % clients.count])
                    var stats = WorkerStats()
                    var deviceIndex = worker
                    // Seqs unique per run and worker, so runs sharing devices (--credentials-file)
                    // insert new results instead of acknowledging duplicates.
                    var seq = runSeqBase | UInt64(worker) << 32
                    while ContinuousClock.now < deadline {
                        let credential = credentials[deviceIndex % credentials.count]
                        deviceIndex += concurrency
                        let auth = FleetAuthorization.metadata(bearer: credential)
                        var heartbeat = Edgevlm_Fleet_V1_HeartbeatRequest()
                        heartbeat.status.queueDepth = UInt32(deviceIndex % 7)
                        heartbeat.status.agentVersion = "loadgen"
                        heartbeat.status.deviceTimeUnixMs = Int64(Date().timeIntervalSince1970 * 1000)
                        var results: [FleetResult] = []
                        for _ in 0..<batch {
                            seq += 1
                            var result = FleetResult()
                            result.seq = seq
                            result.createdAtUnixMs = heartbeat.status.deviceTimeUnixMs
                            result.text = "a person in a red jacket standing at the kiosk, looking at the screen"
                            result.source = "camera0"
                            results.append(result)
                        }
                        let t0 = ContinuousClock.now
                        if syncCall {
                            var request = Edgevlm_Fleet_V1_SyncRequest()
                            request.status = heartbeat.status
                            request.results = results
                            let response = try await client.sync(request, metadata: auth)
                            guard response.ackedSeqs.count == results.count else {
                                throw ValidationError("Sync acknowledged \(response.ackedSeqs.count) of \(results.count) results")
                            }
                            stats.heartbeat.append((ContinuousClock.now - t0).seconds)
                            continue
                        }
                        _ = try await client.heartbeat(heartbeat, metadata: auth)
                        let t1 = ContinuousClock.now
                        stats.heartbeat.append((t1 - t0).seconds)
                        var upload = Edgevlm_Fleet_V1_UploadResultsRequest()
                        upload.results = results
                        _ = try await client.uploadResults(upload, metadata: auth)
                        stats.upload.append((ContinuousClock.now - t1).seconds)
                    }
                    return stats
                }
            }
            return try await group.reduce(into: [WorkerStats]()) { $0.append($1) }
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let cpu = CPUSample.take(coordinator: coordinatorPid, databaseParent: databasePid).since(cpuStart)
        let heartbeats = perWorker.flatMap(\.heartbeat).sorted()
        let uploads = perWorker.flatMap(\.upload).sorted()
        let cycles = Double(heartbeats.count) / elapsed
        func ms(_ values: [Double], _ q: Double) -> String {
            values.isEmpty ? "-" : String(format: "%.1f", values[min(values.count - 1, Int(Double(values.count) * q))] * 1000)
        }
        if syncCall {
            print(String(format: "ran %.1f s: %d Sync calls (%.0f cycles/s, %.0f results/s)", elapsed, heartbeats.count, cycles,
                         cycles * Double(batch)))
            print("sync latency ms p50=\(ms(heartbeats, 0.5)) p99=\(ms(heartbeats, 0.99))")
        } else {
            print(String(format: "ran %.1f s: %d heartbeats (%.0f/s), %d uploads (%.0f/s, %.0f results/s)", elapsed,
                         heartbeats.count, cycles, uploads.count, Double(uploads.count) / elapsed,
                         Double(uploads.count * batch) / elapsed))
            print("heartbeat latency ms p50=\(ms(heartbeats, 0.5)) p99=\(ms(heartbeats, 0.99)); upload latency ms p50=\(ms(uploads, 0.5)) p99=\(ms(uploads, 0.99))")
        }
        print(String(format: "sustainable devices at a %d s interval (1 heartbeat + 1 upload of %d results each): %.0f",
                     interval, batch, cycles * Double(interval)))
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        func share(_ seconds: Double) -> String {
            String(format: "%.1f s (%.0f%% of %d cores)", seconds, 100 * seconds / (elapsed * cores), Int(cores))
        }
        var cpuLine = "cpu over the timed phase: loadgen \(share(cpu.own))"
        if let coordinator = cpu.coordinator { cpuLine += ", coordinator \(share(coordinator))" }
        if let database = cpu.database { cpuLine += ", database \(share(database))" }
        print(cpuLine)
        if heartbeats.count > 0 {
            // The load-robust figure: CPU per unit of work barely moves when others share the cores.
            let per1000 = 1000 / Double(heartbeats.count)
            var line = String(format: "cpu s per 1000 cycles: loadgen %.3f", cpu.own * per1000)
            if let coordinator = cpu.coordinator { line += String(format: ", coordinator %.3f", coordinator * per1000) }
            if let database = cpu.database { line += String(format: ", database %.3f", database * per1000) }
            let all = cpu.own + (cpu.coordinator ?? 0) + (cpu.database ?? 0)
            line += String(format: "; all three %.3f -> devices at a %d s interval on %d cores, load tool included: %.0f",
                           all * per1000, interval, Int(cores), Double(interval) * cores / (all / Double(heartbeats.count)))
            print(line)
        }
        if let coordinator = cpu.coordinator, heartbeats.count > 0 {
            // Capacity if the server side had every core to itself (load tool elsewhere).
            let server = coordinator + (cpu.database ?? 0)
            let perCycle = server / Double(heartbeats.count)
            print(String(format: "server cpu per cycle: %.3f ms (coordinator %.3f ms%@); devices at a %d s interval if coordinator%@ had all %d cores: %.0f",
                         perCycle * 1000, coordinator / Double(heartbeats.count) * 1000,
                         cpu.database.map { String(format: " + database %.3f ms", $0 / Double(heartbeats.count) * 1000) } ?? "",
                         interval, cpu.database == nil ? "" : " + database", Int(cores), Double(interval) * cores / perCycle))
        }
    }
}

struct WorkerStats: Sendable {
    var heartbeat: [Double] = []
    var upload: [Double] = []
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Secrets {
    static func hex(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

/// Random ids for a run (hardware ids must be unique per coordinator).
enum Secrets {}
