import Crypto
import FleetProtocol
import Foundation

/// Signing and verification of model manifests with Ed25519 (`Curve25519.Signing`). The
/// signature covers the manifest bytes exactly as transmitted; the model's id is their SHA-256.
public enum ModelSigning {
    /// Hex SHA-256 of the raw 32-byte public key.
    public static func keyID(of key: Curve25519.Signing.PublicKey) -> String {
        Digests.sha256Hex(key.rawRepresentation)
    }

    /// Serializes and signs `manifest`. Throws when serialization or signing fails.
    public static func sign(_ manifest: FleetModelManifest, with key: Curve25519.Signing.PrivateKey) throws -> FleetSignedManifest {
        let bytes: Data = try manifest.serializedBytes()
        var signed = FleetSignedManifest()
        signed.manifest = bytes
        signed.signature = try key.signature(for: bytes)
        signed.keyID = keyID(of: key.publicKey)
        return signed
    }

    /// Verifies `signed` against `trustedKeys` (by key id) and checks the manifest's shape: one
    /// "llm" and one "mmproj" file, each with a valid SHA-256 and a non-zero size. Returns the
    /// model digest and the parsed manifest; throws `.signature` or `.invalidArgument`.
    public static func verify(_ signed: FleetSignedManifest, trustedKeys: [String: Curve25519.Signing.PublicKey])
        throws -> (digest: String, manifest: FleetModelManifest) {
        guard !signed.signature.isEmpty else {
            throw CoordinatorError(.signature, "the model manifest is not signed")
        }
        guard let key = trustedKeys[signed.keyID] else {
            throw CoordinatorError(.signature, "the manifest is signed with key \(signed.keyID), which is not trusted "
                                   + "(add its public key to trustedModelKeys)")
        }
        guard key.isValidSignature(signed.signature, for: signed.manifest) else {
            throw CoordinatorError(.signature, "the manifest signature does not verify: the manifest or signature was altered",
                                   context: "key \(signed.keyID)")
        }
        let manifest: FleetModelManifest
        do {
            manifest = try FleetModelManifest(serializedBytes: signed.manifest)
        } catch {
            throw CoordinatorError(.invalidArgument, "the signed manifest is not a ModelManifest message: \(error)")
        }
        let roles = manifest.files.map(\.role).sorted()
        guard roles == ["llm", "mmproj"] else {
            throw CoordinatorError(.invalidArgument, "a model needs exactly one llm and one mmproj file (got \(roles))")
        }
        for file in manifest.files where !Digests.isSHA256Hex(file.sha256) || file.sizeBytes == 0 {
            throw CoordinatorError(.invalidArgument, "file \(file.fileName) needs a lowercase hex SHA-256 and a size",
                                   context: file.fileName)
        }
        return (Digests.sha256Hex(signed.manifest), manifest)
    }

    /// A manifest for an LLM + mmproj GGUF pair on disk: whole-file digests, and per-tensor
    /// digests (`ModelManifestBuilder`) when a file parses as GGUF, so devices can update by
    /// tensor delta. Throws `.io` when a file cannot be read.
    public static func manifest(name: String, version: String, llm: URL, mmproj: URL, now: Int64) throws -> FleetModelManifest {
        var manifest = FleetModelManifest()
        manifest.name = name
        manifest.version = version
        manifest.createdAtUnixMs = now
        for (role, url) in [("llm", llm), ("mmproj", mmproj)] {
            let (digest, size) = try BlobStore.digest(of: url)
            var file = FleetManifestFile()
            file.role = role
            file.fileName = url.lastPathComponent
            file.sizeBytes = UInt64(size)
            file.sha256 = digest
            file.tensors = (try? ModelManifestBuilder.tensorDigests(ofGGUF: url.path)) ?? []
            manifest.files.append(file)
        }
        return manifest
    }
}
