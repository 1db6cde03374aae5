import Coordinator
import FleetProtocol
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Testing

/// A coordinator running in this test process on loopback (ports chosen by the OS), with TLS
/// from a fresh state folder, and clients for it.
struct ServerHarness {
    let server: CoordinatorServer
    let runTask: Task<Void, any Error>
    let grpcPort: Int
    let httpPort: Int
    let adminToken: String
    let stateDirectory: URL

    /// Starts a coordinator on `backend`; nil when that backend is unavailable.
    static func start(_ backend: StoreBackend, trustedModelKeys: [String] = [],
                      configure: (inout CoordinatorConfiguration) -> Void = { _ in }) async throws -> ServerHarness? {
        guard let location = try await TestStores.freshLocation(backend) else { return nil }
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-coord-\(UUID().uuidString)")
        var configuration = CoordinatorConfiguration()
        configuration.stateDirectory = state.path
        configuration.database = backend == .sqlite ? "sqlite:\(location)" : location
        configuration.grpcHost = "127.0.0.1"
        configuration.grpcPort = 0
        configuration.httpHost = "127.0.0.1"
        configuration.httpPort = 0
        configuration.trustedModelKeys = trustedModelKeys
        configuration.rolloutTickSeconds = 1
        configure(&configuration)
        var logger = Logger(label: "test.coordinator")
        logger.logLevel = .warning
        let server = try await CoordinatorServer.open(configuration: configuration, logger: logger)
        let runTask = Task { try await server.run(handleSignals: false) }
        let grpcPort = try await server.grpcPort()
        var httpPort = server.boundHTTPPort
        for _ in 0..<500 where httpPort == nil {
            try await Task.sleep(for: .milliseconds(10))
            httpPort = server.boundHTTPPort
        }
        let token = try String(contentsOf: state.appendingPathComponent("admin.token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return ServerHarness(server: server, runTask: runTask, grpcPort: grpcPort, httpPort: try #require(httpPort),
                             adminToken: token, stateDirectory: state)
    }

    func stop() async {
        runTask.cancel()
        _ = try? await runTask.value
    }

    /// Runs `body` with a gRPC client that trusts the coordinator's CA (or plaintext).
    func withClient<T: Sendable>(_ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        try await Self.withClient(port: grpcPort, caPEM: server.tls?.caCertificatePEM, body)
    }

    static func withClient<T: Sendable>(port: Int, caPEM: String?,
                                        _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        let security: HTTP2ClientTransport.Posix.TransportSecurity
        if let caPEM {
            security = .tls { config in
                config.trustRoots = .certificates([.bytes(Array(caPEM.utf8), format: .pem)])
            }
        } else {
            security = .plaintext
        }
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(host: "127.0.0.1", port: port), transportSecurity: security)
        return try await withGRPCClient(transport: transport) { client in try await body(client) }
    }

    var operatorMetadata: Metadata { FleetAuthorization.metadata(bearer: adminToken) }

    /// Creates an enrollment token with `tags` through the operator API.
    func enrollmentToken(_ client: GRPCClient<HTTP2ClientTransport.Posix>, uses: UInt32 = 100, tags: [String] = ["lobby"]) async throws -> String {
        var request = Edgevlm_Fleet_V1_CreateEnrollmentTokenRequest()
        request.maxUses = uses
        request.tags = tags
        return try await FleetOperatorService.Client(wrapping: client)
            .createEnrollmentToken(request, metadata: operatorMetadata).token
    }

    /// Enrolls a device; returns (device id, credential).
    static func enroll(_ client: GRPCClient<HTTP2ClientTransport.Posix>, token: String, hardwareID: String) async throws -> (String, String) {
        var request = Edgevlm_Fleet_V1_EnrollRequest()
        request.enrollmentToken = token
        request.hardwareID = hardwareID
        request.agentVersion = "test"
        let response = try await FleetDeviceService.Client(wrapping: client).enroll(request)
        return (response.deviceID, response.credential)
    }

    /// GETs `path` from the HTTP side with optional headers.
    func http(_ path: String, headers: [String: String] = [:]) async throws -> (status: Int, headers: [String: String], body: Data) {
        try await Self.http(port: httpPort, path, headers: headers)
    }

    static func http(port: Int, _ path: String, headers: [String: String] = [:]) async throws -> (status: Int, headers: [String: String], body: Data) {
        try await HTTPTestClient.get(host: "127.0.0.1", port: port, path: path, headers: headers)
    }
}

extension RPCError.Code {
    static func of(_ error: any Error) -> RPCError.Code? { (error as? RPCError)?.code }
}
