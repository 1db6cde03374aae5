import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Hummingbird
import Logging
import ServiceLifecycle

/// The running coordinator: gRPC (device + operator services, TLS unless plaintext was asked
/// for), HTTP (artifacts, metrics, dashboard) and the rollout ticker, as services of one
/// `ServiceGroup` that shuts down gracefully on SIGTERM/SIGINT.
public final class CoordinatorServer: Sendable {
    public let core: CoordinatorCore
    public let tls: CoordinatorTLS?
    let grpcServer: GRPCServer<HTTP2ServerTransport.Posix>
    let grpcTransport: HTTP2ServerTransport.Posix
    let http: Application<RouterResponder<BasicRequestContext>>
    let httpPort: HTTPPortBox

    /// Opens the store (SQLite file in the state folder or PostgreSQL), migrates it, loads or
    /// creates operator credentials and TLS material. Throws `CoordinatorError`.
    public static func open(configuration: CoordinatorConfiguration, logger: Logger) async throws -> CoordinatorServer {
        let state = URL(fileURLWithPath: configuration.stateDirectory)
        do {
            try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CoordinatorError(.io, "cannot create state folder: \(error)", context: state.path)
        }
        let database: any SQLDatabase
        if configuration.database == "sqlite" || configuration.database.isEmpty {
            database = try SQLiteDatabase(path: state.appendingPathComponent("coordinator.sqlite").path)
        } else if configuration.database.hasPrefix("sqlite:") {
            database = try SQLiteDatabase(path: String(configuration.database.dropFirst("sqlite:".count)))
        } else {
            database = try PostgresDatabase(url: configuration.database, maximumConnections: configuration.postgresConnections,
                                            logger: logger)
        }
        let store = SQLCoordinatorStore(database: database)
        try await store.migrate()
        let core = try CoordinatorCore(store: store, configuration: configuration,
                                       operators: try OperatorCredentials.loadOrCreate(stateDirectory: state),
                                       blobs: try BlobStore(directory: state.appendingPathComponent("blobs")), logger: logger)
        let tls = configuration.insecurePlaintext ? nil
            : try CoordinatorTLS.loadOrCreate(stateDirectory: state, hostnames: configuration.tlsHostnames)
        return CoordinatorServer(core: core, tls: tls)
    }

    public init(core: CoordinatorCore, tls: CoordinatorTLS?) {
        self.core = core
        self.tls = tls
        let configuration = core.configuration
        let security: HTTP2ServerTransport.Posix.TransportSecurity
        if let tls {
            security = .tls(certificateChain: [.bytes(Array(tls.serverCertificatePEM.utf8), format: .pem)],
                            privateKey: .bytes(Array(tls.serverPrivateKeyPEM.utf8), format: .pem))
        } else {
            security = .plaintext
        }
        var transportConfig = HTTP2ServerTransport.Posix.Config.defaults
        transportConfig.rpc.maxRequestPayloadSize = configuration.maxMessageBytes
        // Agents gzip result uploads (captions compress well); anything else may come uncompressed.
        transportConfig.compression.enabledAlgorithms = configuration.acceptCompression ? [.gzip, .deflate] : .none
        grpcTransport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: configuration.grpcHost, port: configuration.grpcPort),
            transportSecurity: security, config: transportConfig)
        grpcServer = GRPCServer(transport: grpcTransport,
                                services: [DeviceServiceHandler(core: core), OperatorServiceHandler(core: core)])
        let box = HTTPPortBox()
        httpPort = box
        http = Application(router: CoordinatorHTTPRouter.make(core: core),
                           configuration: ApplicationConfiguration(address: .hostname(configuration.httpHost, port: configuration.httpPort)),
                           onServerRunning: { channel in box.set(channel.localAddress?.port) },
                           logger: core.logger)
    }

    /// The gRPC port actually bound (useful with port 0); waits until listening.
    public func grpcPort() async throws -> Int {
        guard let address = try await grpcTransport.listeningAddress.ipv4 else {
            throw CoordinatorError(.io, "gRPC server is not listening on IPv4")
        }
        return address.port
    }

    /// The HTTP port actually bound, nil until the HTTP server runs.
    public var boundHTTPPort: Int? { httpPort.get() }

    /// Runs until cancelled or a termination signal arrives, then shuts down gracefully.
    public func run(handleSignals: Bool = true) async throws {
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [GRPCServerService(server: grpcServer), http, RolloutTicker(core: core)],
            gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
            logger: core.logger))
        try await group.run()
        await core.store.close()
    }
}

/// Runs a `GRPCServer` as a `Service`: graceful shutdown stops accepting calls and lets
/// in-flight ones finish.
struct GRPCServerService: Service {
    let server: GRPCServer<HTTP2ServerTransport.Posix>

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}

/// The HTTP port, written once when the server is up.
final class HTTPPortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var port: Int?

    func set(_ value: Int?) {
        lock.lock()
        port = value
        lock.unlock()
    }

    func get() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        return port
    }
}
