import ArgumentParser
import FleetProtocol
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// How an operator command reaches a coordinator: address, TLS trust and operator token. By
/// default everything comes from the coordinator's state folder on this machine (`admin.token`,
/// `tls/ca.pem`), which is what a person who just started `serve` has.
struct OperatorConnection: ParsableArguments {
    @Option(help: "Coordinator gRPC host.")
    var host = "127.0.0.1"

    @Option(name: .customLong("grpc-port"), help: "Coordinator gRPC port.")
    var grpcPort = 7443

    @Option(name: .customLong("state-dir"), help: "The coordinator's state folder (for admin.token and tls/ca.pem).")
    var stateDir = "/var/lib/edgevlm-coordinator"

    @Option(name: .customLong("token-file"), help: "Operator token file (default: STATE-DIR/admin.token).")
    var tokenFile: String?

    @Option(name: .customLong("ca-file"), help: "CA certificate (PEM) to trust (default: STATE-DIR/tls/ca.pem).")
    var caFile: String?

    @Flag(name: .customLong("insecure-plaintext"), help: "Connect without TLS (a coordinator started with --insecure-plaintext).")
    var insecurePlaintext = false

    /// Runs `body` with a connected client and the operator's authorization metadata.
    /// - Throws: `ValidationError` naming an unreadable token or CA file; gRPC errors as they come.
    func withOperator<T: Sendable>(
        _ body: (FleetOperatorService.Client<HTTP2ClientTransport.Posix>, Metadata) async throws -> T
    ) async throws -> T {
        let tokenPath = tokenFile ?? URL(fileURLWithPath: stateDir).appendingPathComponent("admin.token").path
        guard let tokenText = try? String(contentsOfFile: tokenPath, encoding: .utf8) else {
            throw ValidationError("cannot read the operator token \(tokenPath) (give --token-file or --state-dir)")
        }
        let token = tokenText.trimmingCharacters(in: .whitespacesAndNewlines)
        let security: HTTP2ClientTransport.Posix.TransportSecurity
        if insecurePlaintext {
            security = .plaintext
        } else {
            let caPath = caFile ?? URL(fileURLWithPath: stateDir).appendingPathComponent("tls/ca.pem").path
            guard let pem = try? String(contentsOfFile: caPath, encoding: .utf8) else {
                throw ValidationError("cannot read the CA certificate \(caPath) (give --ca-file, --state-dir or --insecure-plaintext)")
            }
            security = .tls { config in
                config.trustRoots = .certificates([.bytes(Array(pem.utf8), format: .pem)])
            }
        }
        // An address literal must not become a TLS server name (SNI forbids IP addresses).
        let target: any ResolvableTarget
        if host.split(separator: ".").count == 4, host.split(separator: ".").allSatisfy({ UInt8($0) != nil }) {
            target = .ipv4(host: host, port: grpcPort)
        } else if host.contains(":") {
            target = .ipv6(host: host, port: grpcPort)
        } else {
            target = .dns(host: host, port: grpcPort)
        }
        let transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: security)
        return try await withGRPCClient(transport: transport) { client in
            try await body(FleetOperatorService.Client(wrapping: client), FleetAuthorization.metadata(bearer: token))
        }
    }
}
