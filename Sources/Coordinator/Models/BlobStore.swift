import Crypto
import Foundation

/// Artifact files on disk, addressed by their SHA-256: `<folder>/<sha256>`. Uploads go to a
/// temporary file that is renamed into place only after its digest is known (and matched).
public struct BlobStore: Sendable {
    public let directory: URL

    /// Creates the folder when missing. Throws `.io`.
    public init(directory: URL) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw CoordinatorError(.io, "cannot create blob folder: \(error)", context: directory.path)
        }
    }

    /// Path of the blob with digest `sha256` (which must be validated hex).
    public func url(for sha256: String) -> URL {
        directory.appendingPathComponent(sha256)
    }

    /// Writes chunks to a temporary file while hashing; moves it to its address when done.
    /// Throws `.invalidArgument` when `expectedSHA256` differs or the size passes `maxBytes`.
    public func write<Chunks: AsyncSequence>(_ chunks: Chunks, expectedSHA256: String?, maxBytes: Int64)
        async throws -> (sha256: String, size: Int64) where Chunks.Element == [UInt8] {
        let temporary = directory.appendingPathComponent(".upload-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
              let handle = try? FileHandle(forWritingTo: temporary) else {
            throw CoordinatorError(.io, "cannot create upload file", context: temporary.path)
        }
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            for try await chunk in chunks {
                size += Int64(chunk.count)
                guard size <= maxBytes else {
                    throw CoordinatorError(.invalidArgument, "blob is larger than the limit of \(maxBytes) bytes")
                }
                hasher.update(data: chunk)
                try handle.write(contentsOf: chunk)
            }
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        let digest = Digests.hex(hasher.finalize())
        if let expectedSHA256, !expectedSHA256.isEmpty, expectedSHA256 != digest {
            try? FileManager.default.removeItem(at: temporary)
            throw CoordinatorError(.invalidArgument, "uploaded bytes have SHA-256 \(digest), expected \(expectedSHA256)")
        }
        let target = url(for: digest)
        if FileManager.default.fileExists(atPath: target.path) {
            try? FileManager.default.removeItem(at: temporary)
        } else {
            do {
                try FileManager.default.moveItem(at: temporary, to: target)
            } catch {
                throw CoordinatorError(.io, "cannot store blob: \(error)", context: target.path)
            }
        }
        return (digest, size)
    }

    /// SHA-256 hex and size of a file, read in 1 MiB pieces. Throws `.io`.
    public static func digest(of url: URL) throws -> (sha256: String, size: Int64) {
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw CoordinatorError(.io, "cannot open file", context: url.path)
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty {
                hasher.update(data: data)
                size += Int64(data.count)
            }
        } catch {
            throw CoordinatorError(.io, "cannot read file: \(error)", context: url.path)
        }
        return (Digests.hex(hasher.finalize()), size)
    }
}
