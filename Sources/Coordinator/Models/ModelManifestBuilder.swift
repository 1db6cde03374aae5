import Crypto
import FleetProtocol
import Foundation
import GGUF

/// The publisher's side of tensor deltas (issue 9 item 4): the SHA-256 of every tensor's data
/// bytes (exactly `byteCount` bytes at the tensor's offset, padding excluded), in file order,
/// so a device can tell which tensors it already has.
public enum ModelManifestBuilder {
    /// Per-tensor digests of the GGUF file at `path` (memory-mapped, read once).
    /// Throws `CoordinatorError(.invalidArgument)` naming the file when it is not a valid GGUF.
    public static func tensorDigests(ofGGUF path: String) throws -> [Edgevlm_Fleet_V1_TensorDigest] {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch {
            throw CoordinatorError(.invalidArgument, "\(path) is not a GGUF file: \(error)", context: path)
        }
        return file.tensors.map { tensor in
            var digest = Edgevlm_Fleet_V1_TensorDigest()
            digest.name = tensor.name
            digest.sha256 = SHA256.hash(data: file.bytes(of: tensor)).map { String(format: "%02x", $0) }.joined()
            return digest
        }
    }
}
