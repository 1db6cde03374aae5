import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// Builds the gRPC client transport from `[sync]`: TLS trusting only `ca_file` (chain, validity
/// at the time-floored clock and host name checked by `SyncTLSVerifier`), or plaintext when
/// `insecure_plaintext = true`.
enum SyncTransport {
    /// `timeFloor` is the clock the certificate's validity period is checked against.
    static func make(_ sync: AgentConfiguration.Sync, timeFloor: SyncTimeFloor) throws -> HTTP2ClientTransport.Posix {
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
            let verifier = try SyncTLSVerifier(caFile: sync.caFile, endpoint: endpoint, timeFloor: timeFloor)
            let caFile = sync.caFile
            security = .tls { tls in
                tls.trustRoots = .certificates([.file(path: caFile, format: .pem)])
                // Replaces BoringSSL's check (which uses the system clock) with the same
                // checks at the time-floored clock.
                tls.customVerificationCallback = { certificates, promise in verifier.callback(certificates, promise) }
            }
        }
        // The service runs its own backoff with jitter between sessions; a fresh transport
        // connects at once, so the channel's own reconnect schedule never delays a retry.
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.backoff = .init(initial: .milliseconds(100), max: .seconds(2), multiplier: 2, jitter: 0.2)
        // Replies may come compressed; requests are uncompressed unless a call asks (uploads use gzip).
        config.compression = .init(algorithm: .none, enabledAlgorithms: [.gzip, .deflate])
        do {
            return try HTTP2ClientTransport.Posix(target: target, transportSecurity: security, config: config)
        } catch {
            throw AgentError(.configuration, "cannot set up the connection to the coordinator: \(error)", key: "sync.coordinator")
        }
    }
}
