import Foundation
import NIOCore
import NIOSSL
import SwiftASN1
import X509

/// Verifies the coordinator's TLS certificate chain against the configured CA at the
/// time-floored clock instead of the system clock (which BoringSSL would use), so a device
/// that booted with its clock in 1970 still accepts a valid coordinator certificate — and
/// still refuses an expired one, a wrong host name or another CA. Replaces BoringSSL's whole
/// verification (NIOSSL's custom callback), so it checks the chain (RFC 5280, including
/// validity periods) and the server identity (subject alternative names) itself.
struct SyncTLSVerifier: Sendable {
    let roots: [Certificate]
    /// The name or address in `[sync] coordinator`, matched against the certificate's SANs.
    let host: String
    let isIPAddress: Bool
    let timeFloor: SyncTimeFloor

    /// Reads the PEM certificates in `caFile`. Throws `AgentError.configuration` naming `sync.ca_file`.
    init(caFile: String, endpoint: SyncEndpoint, timeFloor: SyncTimeFloor) throws {
        guard let text = try? String(contentsOfFile: caFile, encoding: .utf8) else {
            throw AgentError(.configuration, "cannot read the CA file", key: "sync.ca_file", path: caFile)
        }
        let roots: [Certificate]
        do {
            roots = try PEMDocument.parseMultiple(pemString: text).map { try Certificate(pemDocument: $0) }
        } catch {
            throw AgentError(.configuration, "the CA file holds no valid PEM certificate (\(error))", key: "sync.ca_file", path: caFile)
        }
        guard !roots.isEmpty else {
            throw AgentError(.configuration, "the CA file holds no certificate", key: "sync.ca_file", path: caFile)
        }
        self.init(roots: roots, host: endpoint.host, isIPAddress: endpoint.isIPv4 || endpoint.isIPv6, timeFloor: timeFloor)
    }

    init(roots: [Certificate], host: String, isIPAddress: Bool, timeFloor: SyncTimeFloor) {
        self.roots = roots
        self.host = host
        self.isIPAddress = isIPAddress
        self.timeFloor = timeFloor
    }

    /// The NIOSSL callback: verification runs off the event loop and completes `promise`.
    func callback(_ presented: [NIOSSLCertificate], _ promise: EventLoopPromise<NIOSSLVerificationResultWithMetadata>) {
        Task { promise.succeed(await verify(presented)) }
    }

    /// Verifies `presented` (leaf first) at `validationTime` (default: the time-floored clock).
    func verify(_ presented: [NIOSSLCertificate], at validationTime: Date? = nil) async -> NIOSSLVerificationResultWithMetadata {
        do {
            let chain = try presented.map { try Certificate(derEncoded: try $0.toDERBytes()) }
            guard let leaf = chain.first else { return .failed }
            let time = validationTime ?? Date(timeIntervalSince1970: Double(timeFloor.nowMs()) / 1000)
            let host = host, isIPAddress = isIPAddress
            var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
                RFC5280Policy(validationTime: time)
                ServerIdentityPolicy(serverHostname: isIPAddress ? nil : host, serverIP: isIPAddress ? host : nil)
            }
            switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(chain.dropFirst())) {
            case .validCertificate(let validated):
                let nio = try validated.map { certificate in
                    var serializer = DER.Serializer()
                    try serializer.serialize(certificate)
                    return try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)
                }
                return .certificateVerified(VerificationMetadata(ValidatedCertificateChain(nio)))
            case .couldNotValidate:
                return .failed
            }
        } catch {
            return .failed
        }
    }
}
