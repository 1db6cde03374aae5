import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// Builds the gRPC client transport from `[sync]`: TLS trusting only `ca_file`, or plaintext
/// when `insecure_plaintext = true`. Hostname verification is on (the certificate must name
/// the host of `coordinator`).
enum SyncTransport {
    static func make(_ sync: AgentConfiguration.Sync) throws -> HTTP2ClientTransport.Posix {
        guard let endpoint = SyncEndpoint(parsing: sync.coordinator) else {
            throw AgentError(.configuration, "coordinator must be host:port, not \"\(sync.coordinator)\"", key: "sync.coordinator")
        }
        let target: any ResolvableTarget
        if endpoint.isIPv4 {
            target = .ipv4(address: endpoint.host, port: endpoint.port)
        } else if endpoint.isIPv6 {
            target = .ipv6(address: endpoint.host, port: endpoint.port)
        } else {
            target = .dns(host: endpoint.host, port: endpoint.port)
        }
        let security: HTTP2ClientTransport.Posix.TransportSecurity
        if sync.insecurePlaintext {
            security = .plaintext
        } else {
            guard FileManager.default.isReadableFile(atPath: sync.caFile) else {
                throw AgentError(.configuration, "cannot read the CA file", key: "sync.ca_file", path: sync.caFile)
            }
            let caFile = sync.caFile
            security = .tls { tls in
                tls.trustRoots = .certificates([.file(path: caFile, format: .pem)])
            }
        }
        // The service runs its own backoff with jitter between sessions; a fresh transport
        // connects at once, so the channel's own reconnect schedule never delays a retry.
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.backoff = .init(initial: .milliseconds(100), max: .seconds(2), multiplier: 2, jitter: 0.2)
        do {
            return try HTTP2ClientTransport.Posix(target: target, transportSecurity: security, config: config)
        } catch {
            throw AgentError(.configuration, "cannot set up the connection to the coordinator: \(error)", key: "sync.coordinator")
        }
    }
}
