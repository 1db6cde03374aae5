import Foundation

/// Where model bytes come from: the coordinator's artifact server in the agent, a local file
/// in tests and for `edgevlm models pull --from-file`.
public protocol ModelBlobSource: Sendable {
    /// Delivers bytes `range` of blob `sha256` to `sink` in order, in pieces of any size.
    /// Throws `AgentError`: `.modelUpdate` when retrying cannot help (4xx: the blob is
    /// missing, the credential refused), `.transfer` otherwise (link down, stall, 5xx).
    func fetch(blob sha256: String, range: Range<Int64>,
               sink: (Data) async throws -> Void) async throws
}

/// A blob source reading files in a folder named by their SHA-256 (a local mirror of the
/// coordinator's blob store, or tests).
public struct DirectoryBlobSource: ModelBlobSource {
    public let directory: String
    /// Largest piece handed to the sink.
    public let pieceBytes: Int

    public init(directory: String, pieceBytes: Int = 1 << 20) {
        self.directory = directory
        self.pieceBytes = pieceBytes
    }

    public func fetch(blob sha256: String, range: Range<Int64>,
                      sink: (Data) async throws -> Void) async throws {
        let path = directory + "/" + sha256
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw AgentError(.modelUpdate, "blob \(sha256) not found in \(directory)")
        }
        defer { try? handle.close() }
        do { try handle.seek(toOffset: UInt64(range.lowerBound)) } catch {
            throw AgentError(.modelUpdate, "blob \(sha256): cannot seek to \(range.lowerBound)")
        }
        var position = range.lowerBound
        while position < range.upperBound {
            let count = Int(min(Int64(pieceBytes), range.upperBound - position))
            let data: Data
            do { data = try handle.read(upToCount: count) ?? Data() } catch {
                throw AgentError(.transfer, "blob \(sha256): read failed: \(error)")
            }
            guard !data.isEmpty else {
                throw AgentError(.modelUpdate, "blob \(sha256) ends at \(position), before \(range.upperBound)")
            }
            try await sink(data)
            position += Int64(data.count)
        }
    }
}
