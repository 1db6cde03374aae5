import Crypto
import Foundation

/// SHA-256 digests used for image identity and idempotency keys.
public enum ContentDigest {
    /// Lower-case hex SHA-256 of `data`.
    public static func sha256Hex(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// The default idempotency key of a submission: SHA-256 over the image digest, the prompt
    /// and the model digest (length-prefixed, so no two different triples collide by
    /// concatenation).
    public static func idempotencyKey(imageDigest: String, prompt: String, modelDigest: String) -> String {
        var hasher = SHA256()
        for part in [imageDigest, prompt, modelDigest] {
            let bytes = Data(part.utf8)
            withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { hasher.update(bufferPointer: $0) }
            hasher.update(data: bytes)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
