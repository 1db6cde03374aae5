import Crypto
import FleetProtocol
import Foundation

/// Checks a signed model manifest against the provisioned trusted Ed25519 keys, and files
/// against the manifest's SHA-256 digests (issue 9 item 3). A model that fails any check is
/// never installed; the thrown error's message is the reason reported to the coordinator.
public struct ManifestVerifier: Sendable {
    /// A manifest that passed the signature check.
    public struct Verified: Sendable {
        /// Hex SHA-256 of the signed manifest bytes: the model's id.
        public var digest: String
        public var manifest: FleetModelManifest
    }

    /// Trusted raw 32-byte public keys by key id (hex SHA-256 of the raw key).
    public let trustedKeys: [String: Data]

    /// `publicKeys`: raw 32-byte Ed25519 public keys in base64 (as the coordinator's
    /// `trustedModelKeys`) or hex (the `[models] trusted_keys` setting). Throws
    /// `.configuration` naming the entry that is not a valid public key.
    public init(publicKeys: [String]) throws {
        var keys: [String: Data] = [:]
        for text in publicKeys {
            let raw = text.utf8.count == 64 ? Self.bytes(hex: text) : Data(base64Encoded: text)
            guard let raw, raw.count == 32, (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil else {
                throw AgentError(.configuration, "\"\(text)\" is not an Ed25519 public key (32 bytes, base64 or 64 hex digits)",
                                 key: "models.trusted_keys")
            }
            keys[ContentDigest.sha256Hex(raw)] = raw
        }
        trustedKeys = keys
    }

    public init(trustedKeys: [Curve25519.Signing.PublicKey]) {
        var keys: [String: Data] = [:]
        for key in trustedKeys { keys[ContentDigest.sha256Hex(key.rawRepresentation)] = key.rawRepresentation }
        self.trustedKeys = keys
    }

    /// Verifies the signature and the manifest's shape (one "llm" and one "mmproj" file with a
    /// hex SHA-256, a size and a plain file name; tensor digests hex). If `expectedDigest` is
    /// not empty the manifest must be that model. Throws `.modelUpdate` with the reason.
    public func verify(_ signed: FleetSignedManifest, expectedDigest: String = "") throws -> Verified {
        guard !signed.signature.isEmpty else {
            throw AgentError(.modelUpdate, "the model manifest is not signed")
        }
        guard let raw = trustedKeys[signed.keyID], let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            throw AgentError(.modelUpdate, "the manifest is signed with key \(signed.keyID), which this device does not trust "
                             + "(provision its public key in [models] trusted_keys)")
        }
        guard key.isValidSignature(signed.signature, for: signed.manifest) else {
            throw AgentError(.modelUpdate, "the manifest signature does not verify with key \(signed.keyID): "
                             + "the manifest or its signature was altered")
        }
        let digest = ContentDigest.sha256Hex(signed.manifest)
        if !expectedDigest.isEmpty, digest != expectedDigest {
            throw AgentError(.modelUpdate, "the signed manifest is model \(digest), but model \(expectedDigest) was assigned")
        }
        let manifest: FleetModelManifest
        do { manifest = try FleetModelManifest(serializedBytes: signed.manifest) } catch {
            throw AgentError(.modelUpdate, "the signed bytes are not a ModelManifest: \(error)")
        }
        let roles = manifest.files.map(\.role).sorted()
        guard roles == ["llm", "mmproj"] else {
            throw AgentError(.modelUpdate, "a model needs exactly one llm and one mmproj file (the manifest has \(roles))")
        }
        for file in manifest.files {
            guard Self.isSHA256Hex(file.sha256), file.sizeBytes > 0, file.sizeBytes < UInt64(Int64.max) else {
                throw AgentError(.modelUpdate, "manifest file \(file.fileName) needs a lowercase hex SHA-256 and a size")
            }
            for tensor in file.tensors where !Self.isSHA256Hex(tensor.sha256) {
                throw AgentError(.modelUpdate, "tensor \(tensor.name) of \(file.fileName) has no valid SHA-256 in the manifest")
            }
        }
        return Verified(digest: digest, manifest: manifest)
    }

    /// Hex SHA-256 and size of the file at `path`, read in 1 MiB pieces. Throws `.io`.
    public static func sha256(ofFile path: String) throws -> (digest: String, size: Int64) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw AgentError(.io, "cannot open the file to check its digest", path: path)
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                throw AgentError(.io, "cannot read the file to check its digest: \(error)", path: path)
            }
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (hasher.finalize().map { String(format: "%02x", $0) }.joined(), size)
    }

    /// Throws `.modelUpdate` unless the file at `path` has `file`'s size and SHA-256.
    public static func checkFile(_ path: String, against file: FleetManifestFile) throws {
        let (digest, size) = try sha256(ofFile: path)
        guard size == Int64(file.sizeBytes) else {
            throw AgentError(.modelUpdate, "\(file.fileName) has \(size) bytes, the manifest says \(file.sizeBytes)", path: path)
        }
        guard digest == file.sha256 else {
            throw AgentError(.modelUpdate, "\(file.fileName) has SHA-256 \(digest), the manifest says \(file.sha256)", path: path)
        }
    }

    static func isSHA256Hex(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    static func bytes(hex: String) -> Data? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out = Data(capacity: digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }
}
