import Crypto
import Foundation
import SwiftASN1
import X509

/// The coordinator's TLS material: a private CA made at first start (P-256, 10 years) and a
/// server certificate it signs for the configured host names and addresses. Devices and
/// operator tools are provisioned with `ca.pem` and verify the server against it.
public struct CoordinatorTLS: Sendable {
    public var caCertificatePEM: String
    public var serverCertificatePEM: String
    public var serverPrivateKeyPEM: String

    /// Loads `<state>/tls/*.pem`, creating the CA and server certificate when missing, and
    /// re-issuing the server certificate when `hostnames` changed. Throws `.io` for files.
    public static func loadOrCreate(stateDirectory: URL, hostnames: [String], now: Date = Date()) throws -> CoordinatorTLS {
        let directory = stateDirectory.appendingPathComponent("tls")
        let caFile = directory.appendingPathComponent("ca.pem"), caKeyFile = directory.appendingPathComponent("ca-key.pem")
        let serverFile = directory.appendingPathComponent("server.pem")
        let serverKeyFile = directory.appendingPathComponent("server-key.pem")
        let namesFile = directory.appendingPathComponent("server-names.txt")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let caKey: P256.Signing.PrivateKey
            let caPEM: String
            if FileManager.default.fileExists(atPath: caFile.path), FileManager.default.fileExists(atPath: caKeyFile.path) {
                caKey = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOf: caKeyFile, encoding: .utf8))
                caPEM = try String(contentsOf: caFile, encoding: .utf8)
            } else {
                caKey = P256.Signing.PrivateKey()
                caPEM = try makeCA(key: caKey, now: now)
                try OperatorCredentials.writePrivate(Data(caKey.pemRepresentation.utf8), to: caKeyFile)
                try Data(caPEM.utf8).write(to: caFile)
            }
            let names = hostnames.sorted().joined(separator: "\n")
            let existingNames = try? String(contentsOf: namesFile, encoding: .utf8)
            if existingNames != names || !FileManager.default.fileExists(atPath: serverFile.path)
                || !FileManager.default.fileExists(atPath: serverKeyFile.path) {
                let serverKey = P256.Signing.PrivateKey()
                let serverPEM = try makeServerCertificate(key: serverKey, hostnames: hostnames, caKey: caKey,
                                                          caPEM: caPEM, now: now)
                try OperatorCredentials.writePrivate(Data(serverKey.pemRepresentation.utf8), to: serverKeyFile)
                try Data(serverPEM.utf8).write(to: serverFile)
                try Data(names.utf8).write(to: namesFile)
            }
            return CoordinatorTLS(caCertificatePEM: caPEM,
                                  serverCertificatePEM: try String(contentsOf: serverFile, encoding: .utf8),
                                  serverPrivateKeyPEM: try String(contentsOf: serverKeyFile, encoding: .utf8))
        } catch let error as CoordinatorError {
            throw error
        } catch {
            throw CoordinatorError(.io, "cannot create or read TLS material: \(error)", context: directory.path)
        }
    }

    static func makeCA(key: P256.Signing.PrivateKey, now: Date) throws -> String {
        let name = try DistinguishedName { CommonName("EdgeVLM coordinator CA") }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        return try certificate.serializeAsPEM().pemString
    }

    static func makeServerCertificate(key: P256.Signing.PrivateKey, hostnames: [String], caKey: P256.Signing.PrivateKey,
                                      caPEM: String, now: Date) throws -> String {
        let ca = try Certificate(pemEncoded: caPEM)
        let names: [GeneralName] = hostnames.map { host in
            if let address = IPv4Address(host) { return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(address))) }
            return .dnsName(host)
        }
        let subject = try DistinguishedName { CommonName(hostnames.first ?? "localhost") }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(2 * 365 * 86400),
            issuer: ca.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(caKey))
        return try certificate.serializeAsPEM().pemString
    }
}

/// Four dotted decimal bytes, nil when `text` is not an IPv4 address.
private func IPv4Address(_ text: String) -> [UInt8]? {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    let bytes = parts.compactMap { UInt8($0) }
    return bytes.count == 4 ? bytes : nil
}
