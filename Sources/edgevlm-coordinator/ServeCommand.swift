import ArgumentParser
import Coordinator
import Foundation
import Logging

/// `edgevlm-coordinator serve`: runs gRPC + HTTP until SIGTERM/SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the coordinator (gRPC for devices and operators, HTTP for artifacts, metrics, dashboard).")

    @Option(help: "JSON config file (fields: see README, section Coordinator). Flags override it.")
    var config: String?
    @Option(help: "State folder (SQLite database, TLS material, operator credentials, blobs).")
    var stateDir: String?
    @Option(help: "\"sqlite\" (default), \"sqlite:PATH\" or postgres://user@host:port/db.")
    var database: String?
    @Option(help: "gRPC listen address.")
    var grpcHost: String?
    @Option(help: "gRPC port (0 = any free port; the bound port is printed).")
    var grpcPort: Int?
    @Option(help: "HTTP listen address.")
    var httpHost: String?
    @Option(help: "HTTP port (0 = any free port; the bound port is printed).")
    var httpPort: Int?
    @Option(help: "Heartbeat interval asked of devices, in seconds.")
    var pollInterval: Int?
    @Option(help: "Trusted Ed25519 model-signing public key (base64 raw 32 bytes); repeatable.")
    var trustModelKey: [String] = []
    @Flag(help: "Serve gRPC without TLS (local development only).")
    var insecurePlaintext = false
    @Flag(help: "Refuse compressed gRPC requests (agents then upload uncompressed).")
    var noCompression = false
    @Flag(help: "Answer the Sync call UNIMPLEMENTED, as a coordinator before it did (to check agents' fallback).")
    var noSyncCall = false

    func run() async throws {
        var configuration = CoordinatorConfiguration()
        if let config { configuration = try CoordinatorConfiguration.load(from: URL(fileURLWithPath: config)) }
        if let stateDir { configuration.stateDirectory = stateDir }
        if let database { configuration.database = database }
        if let grpcHost { configuration.grpcHost = grpcHost }
        if let grpcPort { configuration.grpcPort = grpcPort }
        if let httpHost { configuration.httpHost = httpHost }
        if let httpPort { configuration.httpPort = httpPort }
        if let pollInterval { configuration.pollIntervalSeconds = pollInterval }
        configuration.trustedModelKeys += trustModelKey
        if insecurePlaintext { configuration.insecurePlaintext = true }
        if noCompression { configuration.acceptCompression = false }
        if noSyncCall { configuration.serveSyncCall = false }
        var logger = Logger(label: "edgevlm.coordinator")
        logger.logLevel = .info
        let server = try await CoordinatorServer.open(configuration: configuration, logger: logger)
        let announce = Task {
            // One machine-readable line once both listeners are up (tests and scripts read it).
            let grpc = try await server.grpcPort()
            var http = server.boundHTTPPort
            while http == nil {
                try await Task.sleep(for: .milliseconds(20))
                http = server.boundHTTPPort
            }
            let mode = configuration.insecurePlaintext ? "plaintext" : "tls"
            let line = "edgevlm-coordinator listening grpc=\(grpc) http=\(http ?? 0) \(mode) state=\(configuration.stateDirectory)\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        defer { announce.cancel() }
        try await server.run()
    }
}
