import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import Testing
import X509
@testable import Agent

/// `SyncTLSVerifier` on certificates made here with swift-certificates (a CA and a server
/// certificate valid for one hour around "now", like the coordinator's own).
@Suite("Sync TLS verification at the time-floored clock")
struct SyncTLSVerifierTests {
    struct PKI {
        let ca: Certificate
        let server: Certificate
        let now: Date

        init(now: Date = Date(), serverValidity: TimeInterval = 3600, caName: String = "test CA") throws {
            self.now = now
            let caKey = P256.Signing.PrivateKey()
            let caSubject = try DistinguishedName { CommonName(caName) }
            ca = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
                notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86400),
                issuer: caSubject, subject: caSubject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                },
                issuerPrivateKey: .init(caKey))
            let serverKey = P256.Signing.PrivateKey()
            server = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(serverKey.publicKey),
                notValidBefore: now.addingTimeInterval(-serverValidity), notValidAfter: now.addingTimeInterval(serverValidity),
                issuer: caSubject, subject: try DistinguishedName { CommonName("coordinator") }, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                    try ExtendedKeyUsage([.serverAuth])
                    SubjectAlternativeNames([.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])), .dnsName("fleet.test")])
                },
                issuerPrivateKey: .init(caKey))
        }

        var presented: [NIOSSLCertificate] {
            get throws {
                var serializer = DER.Serializer()
                try serializer.serialize(server)
                return [try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)]
            }
        }
    }

    static func verified(_ result: NIOSSLVerificationResultWithMetadata) -> Bool {
        if case .certificateVerified = result { return true }
        return false
    }

    /// A device clock of 1970 with a time floor learned from the coordinator accepts the
    /// certificate; the same clock without a floor (what BoringSSL would see) refuses it.
    @Test func a1970ClockWithAFloorAcceptsTheCoordinator() async throws {
        let pki = try PKI()
        let floor = SyncTimeFloor(path: nil, systemNowMs: { 1_000 })
        let verifier = SyncTLSVerifier(roots: [pki.ca], host: "127.0.0.1", isIPAddress: true, timeFloor: floor)
        #expect(!Self.verified(await verifier.verify(try pki.presented)))
        floor.observe(serverTimeMs: Int64(pki.now.timeIntervalSince1970 * 1000))
        #expect(Self.verified(await verifier.verify(try pki.presented)))
    }

    @Test func wrongHostOtherCAAndExpiredCertificatesAreRefused() async throws {
        let pki = try PKI()
        let floor = SyncTimeFloor(path: nil)
        let byName = SyncTLSVerifier(roots: [pki.ca], host: "fleet.test", isIPAddress: false, timeFloor: floor)
        #expect(Self.verified(await byName.verify(try pki.presented)))
        let otherName = SyncTLSVerifier(roots: [pki.ca], host: "other.test", isIPAddress: false, timeFloor: floor)
        #expect(!Self.verified(await otherName.verify(try pki.presented)))
        let otherIP = SyncTLSVerifier(roots: [pki.ca], host: "10.0.0.1", isIPAddress: true, timeFloor: floor)
        #expect(!Self.verified(await otherIP.verify(try pki.presented)))
        let otherCA = SyncTLSVerifier(roots: [try PKI(caName: "test CA").ca], host: "fleet.test", isIPAddress: false, timeFloor: floor)
        #expect(!Self.verified(await otherCA.verify(try pki.presented)))
        // The floor never makes an expired certificate valid: checked two hours later.
        #expect(!Self.verified(await byName.verify(try pki.presented, at: pki.now.addingTimeInterval(7200))))
    }

    @Test func caFileErrorsNameTheKey() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-ca-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let endpoint = try #require(SyncEndpoint(parsing: "127.0.0.1:1"))
        let floor = SyncTimeFloor(path: nil)
        let missing = try #require(throws: AgentError.self) {
            try SyncTLSVerifier(caFile: directory.path + "/none.pem", endpoint: endpoint, timeFloor: floor)
        }
        #expect(missing.key == "sync.ca_file")
        let junk = directory.appendingPathComponent("junk.pem")
        try Data("not a certificate".utf8).write(to: junk)
        let bad = try #require(throws: AgentError.self) { try SyncTLSVerifier(caFile: junk.path, endpoint: endpoint, timeFloor: floor) }
        #expect(bad.key == "sync.ca_file")
        let good = directory.appendingPathComponent("ca.pem")
        try Data(try PKI().ca.serializeAsPEM().pemString.utf8).write(to: good)
        #expect(try SyncTLSVerifier(caFile: good.path, endpoint: endpoint, timeFloor: floor).roots.count == 1)
    }
}
