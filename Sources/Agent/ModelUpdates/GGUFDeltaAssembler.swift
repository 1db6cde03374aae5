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
/// file's SHA-256, so the result is byte-identical to the published file or an error.
///
/// Resumable: the partial output `<sha256>.delta` keeps what arrived, and `DeltaProgress`
/// (`<sha256>.delta.json`) records the fsynced ranges after each fetched tensor (small ones
/// batched), so a delta cut by a kill, power loss or link failure fetches only the rest when it
/// runs again; fetched tensors found on disk are checked against their digests first and
/// fetched again when they do not match. Transient failures are retried with backoff like a
/// whole-file download, under the same bandwidth limit.
public struct GGUFDeltaAssembler: Sendable {
    /// What an assembly did.
    public struct Outcome: Sendable, Equatable {
        /// The verified file in staging.
        public var path: String
        /// Bytes fetched by this run (header and changed tensors).
        public var fetchedBytes: Int64
        /// Bytes copied from local files instead.
        public var reusedBytes: Int64
        /// Bytes an interrupted earlier run had fetched and this run kept (verified).
        public var resumedBytes: Int64
        public var reusedTensors: Int
        public var fetchedTensors: Int
    }

    public let source: any ModelBlobSource
    public let stagingDirectory: String
    /// First header prefix asked for; quadrupled until the header parses. Tensor bytes that
    /// arrive with it are used, never fetched again.
    public let initialHeaderBytes: Int64
    /// Attempts, backoff, bandwidth limit and checkpoint interval (the downloader's settings).
    public let settings: ModelDownloader.Settings

    /// Fetched tensors smaller than this are made durable together (one fsync and record for
    /// several norms and biases, not one each).
    static let tensorCheckpointBytes: Int64 = 64 << 10

    public init(source: any ModelBlobSource, stagingDirectory: String, initialHeaderBytes: Int64 = 64 << 10,
                settings: ModelDownloader.Settings = ModelDownloader.Settings()) {
        self.source = source
        self.stagingDirectory = stagingDirectory
        self.initialHeaderBytes = initialHeaderBytes
        self.settings = settings
    }

    /// Path of the partial output of `blob` and of its progress record.
    func workPath(of blob: String) -> String { stagingDirectory + "/" + blob + ".delta" }
    func progressPath(of blob: String) -> String { workPath(of: blob) + ".json" }

    /// Removes a delta's partial output and progress record.
    public func discard(_ blob: String) {
        unlink(workPath(of: blob))
        unlink(progressPath(of: blob))
        DurableFiles.syncDirectory(stagingDirectory)
    }

    /// Assembles `file` (whose manifest entry lists per-tensor digests) into
    /// `<staging>/<sha256>`, reusing tensors of the GGUF files at `localFiles` and what an
    /// interrupted earlier run left in staging. Throws `.modelUpdate` when the manifest has no
    /// tensor digests, the header does not parse, a fetched tensor or the whole file does not
    /// match its digest (the partial output is then removed), or the source refuses (4xx);
    /// `.io` when transient fetch failures exhaust the attempts or the disk fails (the partial
    /// output and its progress are kept: the next run resumes).
    public func assemble(_ file: FleetManifestFile, reusing localFiles: [String]) async throws -> Outcome {
        guard !file.tensors.isEmpty else {
            throw AgentError(.modelUpdate, "the manifest lists no tensor digests for \(file.fileName); a delta is impossible")
        }
        let blob = file.sha256
        let size = Int64(file.sizeBytes)
        let work = workPath(of: blob)
        var info = stat()
        let onDisk = stat(work, &info) == 0 ? Int64(info.st_size) : -1
        var progress: DeltaProgress
        if let saved = DeltaProgress.load(path: progressPath(of: blob), blob: blob, size: size), onDisk == size {
            progress = saved
        } else {
            discard(blob)
            progress = DeltaProgress(blob: blob, size: size)
            // Made now, while there is room: later saves overwrite it in place.
            try progress.save(path: progressPath(of: blob))
        }
        let output = try OutputFile(path: work, size: size, keepContents: progress.durableBytes > 0)
        defer { output.close() }
        do {
            return try await assemble(file, reusing: localFiles, into: output, progress: &progress)
        } catch let error as AgentError where error.kind == .modelUpdate {
            discard(blob)
            throw error
        }
    }

    private func assemble(_ file: FleetManifestFile, reusing localFiles: [String], into output: OutputFile,
                          progress: inout DeltaProgress) async throws -> Outcome {
        let blob = file.sha256
        let size = Int64(file.sizeBytes)
        let work = workPath(of: blob)
        let final = stagingDirectory + "/" + blob
        let broughtBytes = progress.durableBytes
        var outcome = Outcome(path: final, fetchedBytes: 0, reusedBytes: 0, resumedBytes: 0, reusedTensors: 0, fetchedTensors: 0)
        let fetcher = RangeFetcher(source: source, blob: blob, fileName: file.fileName, settings: settings,
                                   progressPath: progressPath(of: blob))

        // 1. The header, by growing prefixes. Bytes past the prefix are zero (sparse file) or
        // from a tensor an earlier run fetched: a header that runs past the prefix ends past it,
        // so `dataOffset > prefix` tells it is cut.
        var prefix = progress.headerBytes
        var layout = prefix > 0 ? Self.parsedHeader(work, within: prefix) : nil
        while layout == nil {
            let next = min(size, max(initialHeaderBytes, prefix * 4))
            for gap in progress.missing(in: prefix ..< next) {
                outcome.fetchedBytes += try await fetcher.fetch(gap, into: output, progress: &progress, tensorEnds: [])
            }
            prefix = next
            progress.headerBytes = next
            try progress.save(path: progressPath(of: blob))
            layout = Self.parsedHeader(work, within: prefix)
            if layout == nil, prefix == size {
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
        var fetched: [(name: String, range: Range<Int64>)] = []
        for tensor in layout.tensors {
            guard let digest = wanted[tensor.name] else {
                throw AgentError(.modelUpdate, "the manifest has no digest for tensor \(tensor.name) of \(file.fileName)")
            }
            let start = Int64(layout.dataOffset + tensor.offset)
            let end = start + Int64(tensor.byteCount)
            if end <= prefix {
                // Already arrived with the header prefix.
                fetched.append((tensor.name, start ..< end))
                outcome.fetchedTensors += 1
            } else if let (existing, match) = local[digest], match.byteCount == tensor.byteCount {
                try output.write(existing.bytes(of: match), at: start)
                outcome.reusedBytes += Int64(tensor.byteCount)
                outcome.reusedTensors += 1
            } else {
                fetched.append((tensor.name, start ..< end))
                outcome.fetchedTensors += 1
                let from = max(start, prefix)
                if let last = fetches.last, from - last.upperBound < Int64(layout.alignment) {
                    fetches[fetches.count - 1] = last.lowerBound ..< end
                } else {
                    fetches.append(from ..< end)
                }
            }
        }

        // 4. Tensors an earlier run fetched: kept only when they still match their digest.
        if broughtBytes > 0 {
            var dropped = false
            for tensor in fetched where tensor.range.lowerBound >= prefix && progress.covers(tensor.range) {
                let digest = try output.sha256Hex(of: tensor.range)
                if digest != wanted[tensor.name] {
                    progress.remove(tensor.range)
                    dropped = true
                }
            }
            if dropped { try progress.save(path: progressPath(of: blob)) }
            outcome.resumedBytes = fetches.reduce(Int64(0)) { total, range in
                total + (range.upperBound - range.lowerBound)
                    - progress.missing(in: range).reduce(Int64(0)) { $0 + ($1.upperBound - $1.lowerBound) }
            }
        }

        // 5. Fetch the rest, durable after each tensor.
        let tensorEnds = fetched.map(\.range.upperBound).sorted()
        for range in fetches {
            for gap in progress.missing(in: range) {
                outcome.fetchedBytes += try await fetcher.fetch(gap, into: output, progress: &progress, tensorEnds: tensorEnds)
            }
        }
        try output.sync()

        // 6. Per-tensor, then whole-file verification.
        for tensor in fetched {
            let digest = try output.sha256Hex(of: tensor.range)
            guard digest == wanted[tensor.name] else {
                throw AgentError(.modelUpdate, "tensor \(tensor.name) of \(file.fileName) arrived with SHA-256 \(digest), "
                                 + "the manifest says \(wanted[tensor.name] ?? "")", path: work)
            }
        }
        try ManifestVerifier.checkFile(work, against: file)
        try DurableFiles.rename(from: work, to: final)
        unlink(progressPath(of: blob))
        return outcome
    }

    /// The file's layout when its header lies within the first `prefix` bytes, else nil.
    private static func parsedHeader(_ path: String, within prefix: Int64) -> GGUFFile? {
        guard let parsed = try? GGUFFile(path: path), Int64(parsed.dataOffset) <= prefix else { return nil }
        return parsed
    }

    static func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

/// Fetches one range of a delta into its output file with retries, backoff and the bandwidth
/// limit, making what arrived durable (fsync, then the progress record) after each tensor, every
/// `checkpointBytes` and at least once a second, and when the link fails.
struct RangeFetcher {
    let source: any ModelBlobSource
    let blob: String
    let fileName: String
    let settings: ModelDownloader.Settings
    let progressPath: String

    /// Fetches `range` (all of it) and returns the bytes fetched. Throws `.modelUpdate` when the
    /// source refuses, `.io` when the attempts run out or the disk fails.
    func fetch(_ range: Range<Int64>, into output: OutputFile, progress: inout DeltaProgress,
               tensorEnds: [Int64]) async throws -> Int64 {
        let throttle = Throttle(bytesPerSecond: settings.bandwidthBytesPerSecond)
        var backoff = SyncBackoff(baseSeconds: settings.backoffBaseSeconds, maxSeconds: settings.backoffMaxSeconds)
        var durableUpTo = range.lowerBound
        var position = range.lowerBound
        var lastCheckpoint = ContinuousClock.now
        var local = progress
        func checkpoint() throws {
            guard position > durableUpTo else { return }
            try output.sync()
            local.insert(durableUpTo ..< position)
            try local.save(path: progressPath)
            durableUpTo = position
            lastCheckpoint = ContinuousClock.now
        }
        defer { progress = local }
        while position < range.upperBound {
            let before = position
            do {
                try await source.fetch(blob: blob, range: position ..< range.upperBound) { data in
                    try data.withUnsafeBytes { try output.write($0, at: position) }
                    let from = position
                    position += Int64(data.count)
                    let pending = position - durableUpTo
                    let tensorDone = Self.crossesEnd(tensorEnds, from: from, to: position)
                    if (tensorDone && pending >= GGUFDeltaAssembler.tensorCheckpointBytes) || pending >= settings.checkpointBytes
                        || ContinuousClock.now - lastCheckpoint >= .seconds(1) {
                        try checkpoint()
                        if position < range.upperBound, !tensorEnds.isEmpty { TestCrashPoint.deltaCheckpoint.reach() }
                    }
                    try await throttle.consumed(data.count)
                }
            } catch let error as AgentError where error.kind == .transfer || error.kind == .modelUpdate {
                try checkpoint()
                if error.kind == .modelUpdate {
                    throw AgentError(.modelUpdate, "delta of \(fileName) stopped: \(error.message)")
                }
                if position > before { backoff.reset() }
                let delay = backoff.nextDelay()
                guard backoff.failures < settings.maxAttempts else {
                    throw AgentError(.io, "delta of \(fileName) failed \(backoff.failures) times in a row (last: \(error.message)); "
                                     + "\(local.durableBytes) bytes kept for the next try")
                }
                try await Task.sleep(for: .seconds(delay))
            }
        }
        try checkpoint()
        return range.upperBound - range.lowerBound
    }

    /// Whether a tensor ends within `(from, to]`.
    static func crossesEnd(_ ends: [Int64], from: Int64, to: Int64) -> Bool {
        var low = 0
        var high = ends.count
        while low < high {
            let middle = (low + high) / 2
            if ends[middle] <= from { low = middle + 1 } else { high = middle }
        }
        return low < ends.count && ends[low] <= to
    }
}

/// A file written at offsets, created at its final (sparse) size.
final class OutputFile {
    private var fd: Int32
    let path: String

    /// Opens (creating) `path` at `size` bytes; its contents are kept when `keepContents`
    /// (a resumed delta), else it starts empty.
    init(path: String, size: Int64, keepContents: Bool = false) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | (keepContents ? 0 : O_TRUNC), 0o640)
        guard fd >= 0, ftruncate(fd, off_t(size)) == 0 else {
            throw AgentError(.io, "cannot create the staging file: \(String(cString: strerror(errno)))", path: path)
        }
        // Every byte will be written (copied or fetched): take the blocks now, while they are free.
        if DiskReservation.reserve(fd: fd, offset: 0, length: size, keepSize: true) == .noSpace {
            Glibc.close(fd)
            fd = -1
            throw AgentError(.modelUpdate, "not enough disk space to reserve \(size) bytes for the delta: free space on the "
                             + "state file system", path: path)
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

    /// SHA-256 (hex) of the bytes in `range`, read back from the file.
    func sha256Hex(of range: Range<Int64>) throws -> String {
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var position = range.lowerBound
        while position < range.upperBound {
            let want = Int(min(Int64(buffer.count), range.upperBound - position))
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(position)) }
            guard n > 0 else {
                throw AgentError(.io, "cannot read back the staging file: \(n < 0 ? String(cString: strerror(errno)) : "it ends early")",
                                 path: path)
            }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            position += Int64(n)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}
