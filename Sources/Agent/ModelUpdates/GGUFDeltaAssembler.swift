#if canImport(Glibc)
import Glibc
#endif
import Crypto
import FleetProtocol
import Foundation
import GGUF

/// Builds a new GGUF file in staging from the tensors the device already has plus only the
/// changed tensors fetched by range (issue 9 item 4).
///
/// The new file's header is fetched first (growing prefixes until it parses with the `GGUF`
/// module); each tensor whose manifest digest matches a tensor of a local file (the active
/// slot's) is copied from there, the rest is fetched, adjacent changed tensors in one request.
/// Every fetched tensor is checked against its manifest digest and the whole file against the
/// file's SHA-256, so the result is byte-identical to the published file or an error (then
/// the caller downloads the whole file).
public struct GGUFDeltaAssembler: Sendable {
    /// What an assembly did.
    public struct Outcome: Sendable, Equatable {
        /// The verified file in staging.
        public var path: String
        /// Bytes fetched (header and changed tensors).
        public var fetchedBytes: Int64
        /// Bytes copied from local files instead.
        public var reusedBytes: Int64
        public var reusedTensors: Int
        public var fetchedTensors: Int
    }

    public let source: any ModelBlobSource
    public let stagingDirectory: String
    /// First header prefix asked for; quadrupled until the header parses. Tensor bytes that
    /// arrive with it are used, never fetched again.
    public let initialHeaderBytes: Int64

    public init(source: any ModelBlobSource, stagingDirectory: String, initialHeaderBytes: Int64 = 64 << 10) {
        self.source = source
        self.stagingDirectory = stagingDirectory
        self.initialHeaderBytes = initialHeaderBytes
    }

    /// Assembles `file` (whose manifest entry lists per-tensor digests) into
    /// `<staging>/<sha256>`, reusing tensors of the GGUF files at `localFiles`. Throws
    /// `.modelUpdate` when the manifest has no tensor digests, the header does not parse, a
    /// fetched tensor or the whole file does not match its digest (the work file is removed),
    /// and the source's `.transfer`/`.modelUpdate` errors when a fetch fails.
    public func assemble(_ file: FleetManifestFile, reusing localFiles: [String]) async throws -> Outcome {
        guard !file.tensors.isEmpty else {
            throw AgentError(.modelUpdate, "the manifest lists no tensor digests for \(file.fileName); a delta is impossible")
        }
        let size = Int64(file.sizeBytes)
        let work = stagingDirectory + "/" + file.sha256 + ".delta"
        let final = stagingDirectory + "/" + file.sha256
        unlink(work)
        let output = try OutputFile(path: work, size: size)
        var keepWork = false
        defer {
            output.close()
            if !keepWork { unlink(work) }
        }
        var outcome = Outcome(path: final, fetchedBytes: 0, reusedBytes: 0, reusedTensors: 0, fetchedTensors: 0)

        // 1. The header, by growing prefixes. Bytes past the prefix are zero (sparse file): a
        // header that runs past it ends past it, so `dataOffset > prefix` tells it is cut.
        var prefix: Int64 = 0
        var layout: GGUFFile?
        while layout == nil {
            let next = min(size, max(initialHeaderBytes, prefix * 4))
            try await fetch(blob: file.sha256, range: prefix ..< next, into: output)
            outcome.fetchedBytes += next - prefix
            prefix = next
            if let parsed = try? GGUFFile(path: work), Int64(parsed.dataOffset) <= prefix {
                layout = parsed
            } else if prefix == size {
                throw AgentError(.modelUpdate, "\(file.fileName) is not a GGUF file the delta can read")
            }
        }
        guard let layout else { throw AgentError(.modelUpdate, "\(file.fileName): no header") }

        // 2. Which tensors are already here.
        let wanted = Dictionary(file.tensors.map { ($0.name, $0.sha256) }, uniquingKeysWith: { first, _ in first })
        let wantedDigests = Set(wanted.values)
        var local: [String: (GGUFFile, GGUFTensorInfo)] = [:]
        for path in localFiles {
            guard let existing = try? GGUFFile(path: path) else { continue }
            for tensor in existing.tensors {
                let digest = Self.sha256Hex(existing.bytes(of: tensor))
                if wantedDigests.contains(digest), local[digest] == nil { local[digest] = (existing, tensor) }
            }
        }

        // 3. Copy what matches, collect what must be fetched (adjacent tensors merged).
        var fetches: [Range<Int64>] = []
        var fetchedNames: [String] = []
        for tensor in layout.tensors {
            guard let digest = wanted[tensor.name] else {
                throw AgentError(.modelUpdate, "the manifest has no digest for tensor \(tensor.name) of \(file.fileName)")
            }
            let start = Int64(layout.dataOffset + tensor.offset)
            let end = start + Int64(tensor.byteCount)
            if end <= prefix {
                // Already arrived with the header prefix.
                fetchedNames.append(tensor.name)
                outcome.fetchedTensors += 1
            } else if let (existing, match) = local[digest], match.byteCount == tensor.byteCount {
                try output.write(existing.bytes(of: match), at: start)
                outcome.reusedBytes += Int64(tensor.byteCount)
                outcome.reusedTensors += 1
            } else {
                fetchedNames.append(tensor.name)
                outcome.fetchedTensors += 1
                let from = max(start, prefix)
                if let last = fetches.last, from - last.upperBound < Int64(layout.alignment) {
                    fetches[fetches.count - 1] = last.lowerBound ..< end
                } else {
                    fetches.append(from ..< end)
                }
            }
        }
        for range in fetches {
            try await fetch(blob: file.sha256, range: range, into: output)
            outcome.fetchedBytes += range.upperBound - range.lowerBound
        }
        try output.sync()

        // 4. Per-tensor, then whole-file verification.
        let assembled: GGUFFile
        do { assembled = try GGUFFile(path: work) } catch {
            throw AgentError(.modelUpdate, "the assembled \(file.fileName) does not parse: \(error)", path: work)
        }
        for name in fetchedNames {
            let tensor = try assembled.tensor(named: name)
            let digest = Self.sha256Hex(assembled.bytes(of: tensor))
            guard digest == wanted[name] else {
                throw AgentError(.modelUpdate, "tensor \(name) of \(file.fileName) arrived with SHA-256 \(digest), "
                                 + "the manifest says \(wanted[name] ?? "")", path: work)
            }
        }
        try ManifestVerifier.checkFile(work, against: file)
        try DurableFiles.rename(from: work, to: final)
        keepWork = true
        return outcome
    }

    private func fetch(blob: String, range: Range<Int64>, into output: OutputFile) async throws {
        var position = range.lowerBound
        try await source.fetch(blob: blob, range: range) { data in
            try data.withUnsafeBytes { try output.write($0, at: position) }
            position += Int64(data.count)
        }
    }

    static func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

/// A file written at offsets, created at its final (sparse) size.
final class OutputFile {
    private var fd: Int32
    let path: String

    init(path: String, size: Int64) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0, ftruncate(fd, off_t(size)) == 0 else {
            throw AgentError(.io, "cannot create the staging file: \(String(cString: strerror(errno)))", path: path)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let n = pwrite(fd, base + done, bytes.count - done, off_t(offset) + off_t(done))
            guard n > 0 else {
                throw AgentError(.io, "cannot write the staging file: \(String(cString: strerror(errno)))", path: path)
            }
            done += n
        }
    }

    func sync() throws {
        guard fsync(fd) == 0 else {
            throw AgentError(.io, "cannot flush the staging file: \(String(cString: strerror(errno)))", path: path)
        }
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}
