#if canImport(Glibc)
import Glibc
#endif
import Crypto
import FleetProtocol
import Foundation

/// Downloads model files into the store's staging area, resumable across restarts
/// (issue 9 item 2).
///
/// Each blob is staged as `<staging>/<sha256>.part` with `<sha256>.part.json` recording how
/// many bytes are on disk *and fsynced*; a restart truncates the part to that length and asks
/// for the rest by range, so finished bytes are never fetched again. A complete blob is
/// checked against its SHA-256 and renamed to `<staging>/<sha256>`. Transient failures (link
/// down, stall, 5xx) are retried with exponential backoff and jitter; permanent ones (4xx)
/// stop at once so a fleet cannot hammer the server.
public struct ModelDownloader: Sendable {
    /// Tunables (the `[models]` section).
    public struct Settings: Sendable, Equatable {
        /// Attempts per blob before giving up (transient failures).
        public var maxAttempts = 8
        public var backoffBaseSeconds = 1.0
        public var backoffMaxSeconds = 60.0
        /// Bytes per second, 0 for no limit.
        public var bandwidthBytesPerSecond: Int64 = 0
        /// Free space that must remain on the state file system after the download (the job
        /// queue's floor).
        public var minFreeBytes: Int64 = 256 << 20
        /// Bytes between fsync + progress records (also at least once a second).
        public var checkpointBytes: Int64 = 4 << 20

        public init() {}
    }

    /// Progress of one file.
    public struct Progress: Sendable, Equatable {
        public var blob: String
        public var fileName: String
        /// Bytes of the file on disk so far.
        public var doneBytes: Int64
        public var totalBytes: Int64
    }

    /// The persisted resume point of a `.part` file (see `PartStateFile` for how it is stored).
    struct PartState: Codable, Equatable {
        var blob: String
        var size: Int64
        var durableBytes: Int64
    }

    public let source: any ModelBlobSource
    public let stagingDirectory: String
    public let settings: Settings
    public let progress: @Sendable (Progress) -> Void

    public init(source: any ModelBlobSource, stagingDirectory: String, settings: Settings = Settings(),
                progress: @escaping @Sendable (Progress) -> Void = { _ in }) {
        self.source = source
        self.stagingDirectory = stagingDirectory
        self.settings = settings
        self.progress = progress
    }

    /// Path of the verified, complete blob in staging.
    public func stagedPath(of blob: String) -> String { stagingDirectory + "/" + blob }
    func partPath(of blob: String) -> String { stagingDirectory + "/" + blob + ".part" }
    func statePath(of blob: String) -> String { partPath(of: blob) + ".json" }

    /// Bytes of `file` already staged (complete or durable part).
    public func stagedBytes(of file: FleetManifestFile) -> Int64 {
        if FileManager.default.fileExists(atPath: stagedPath(of: file.sha256)) { return Int64(file.sizeBytes) }
        return loadState(file.sha256).map { min($0.durableBytes, Int64(file.sizeBytes)) } ?? 0
    }

    /// Refuses, before any byte is fetched, when the state file system cannot hold the rest of
    /// `files` and still keep `minFreeBytes` free (a statvfs check; each blob's blocks are then
    /// reserved with fallocate when its download starts, where the file system supports it).
    /// Throws `.modelUpdate` with the numbers.
    public func checkSpace(for files: [FleetManifestFile]) throws {
        let needed = files.reduce(Int64(0)) { $0 + Int64($1.sizeBytes) - stagedBytes(of: $1) }
        guard let free = DurableFiles.freeBytes(at: stagingDirectory) else {
            throw AgentError(.io, "cannot read the free space of the model store", path: stagingDirectory)
        }
        guard free - needed >= settings.minFreeBytes else {
            throw AgentError(.modelUpdate, "not enough disk space for the model: it needs \(Self.mib(needed)) MiB, "
                             + "\(Self.mib(free)) MiB are free and \(Self.mib(settings.minFreeBytes)) MiB must stay free "
                             + "for the job queue (models.min_free_mib)", path: stagingDirectory)
        }
    }

    /// Downloads (or resumes) `file`, verifies its SHA-256 and returns the staged path.
    /// Returns at once when it is already staged. Throws `.modelUpdate` on a permanent fetch
    /// failure, when attempts run out, or when the finished file does not match its digest
    /// (the part is then discarded so the next attempt starts clean).
    @discardableResult
    public func download(_ file: FleetManifestFile) async throws -> String {
        let blob = file.sha256
        let final = stagedPath(of: blob)
        if FileManager.default.fileExists(atPath: final) { return final }
        let size = Int64(file.sizeBytes)
        let writer = try PartWriter(path: partPath(of: blob), statePath: statePath(of: blob),
                                    state: resumeState(blob: blob, size: size), checkpointBytes: settings.checkpointBytes)
        defer { writer.close() }
        let throttle = Throttle(bytesPerSecond: settings.bandwidthBytesPerSecond)
        var backoff = SyncBackoff(baseSeconds: settings.backoffBaseSeconds, maxSeconds: settings.backoffMaxSeconds)
        progress(Progress(blob: blob, fileName: file.fileName, doneBytes: writer.written, totalBytes: size))
        while writer.written < size {
            let before = writer.written
            do {
                try await source.fetch(blob: blob, range: writer.written ..< size) { data in
                    try writer.append(data)
                    if writer.checkpointDue { try writer.checkpoint()
                        progress(Progress(blob: blob, fileName: file.fileName, doneBytes: writer.written, totalBytes: size))
                    }
                    try await throttle.consumed(data.count)
                }
            } catch let error as AgentError where error.kind == .transfer || error.kind == .modelUpdate {
                try writer.checkpoint()
                if error.kind == .modelUpdate {
                    throw AgentError(.modelUpdate, "download of \(file.fileName) stopped: \(error.message)")
                }
                // An attempt that made progress was a working link: count failures afresh.
                if writer.written > before { backoff.reset() }
                let delay = backoff.nextDelay()
                guard backoff.failures < settings.maxAttempts else {
                    // `.io`, not `.modelUpdate`: the link failed, not the model; a later try resumes.
                    throw AgentError(.io, "download of \(file.fileName) failed \(backoff.failures) times in a row "
                                     + "(last: \(error.message)); \(writer.written) of \(size) bytes kept for the next try")
                }
                try await Task.sleep(for: .seconds(delay))
            }
        }
        try writer.checkpoint()
        progress(Progress(blob: blob, fileName: file.fileName, doneBytes: writer.written, totalBytes: size))
        writer.close()
        do {
            try ManifestVerifier.checkFile(partPath(of: blob), against: file)
        } catch {
            discard(blob)
            throw error
        }
        try DurableFiles.rename(from: partPath(of: blob), to: final)
        unlink(statePath(of: blob))
        return final
    }

    /// Removes a blob's part and resume record.
    public func discard(_ blob: String) {
        unlink(partPath(of: blob))
        unlink(statePath(of: blob))
        DurableFiles.syncDirectory(stagingDirectory)
    }

    /// Removes staged blobs and parts not in `keep` (an assignment changed).
    public func prune(keeping keep: Set<String>) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: stagingDirectory)) ?? []
        for name in names {
            let blob = String(name.prefix(64))
            if !keep.contains(blob) { unlink(stagingDirectory + "/" + name) }
        }
    }

    func loadState(_ blob: String) -> PartState? {
        guard let state = PartStateFile.load(path: statePath(of: blob)), state.blob == blob else { return nil }
        return state
    }

    /// The durable resume point, never past what the part file really holds.
    private func resumeState(blob: String, size: Int64) -> PartState {
        guard var state = loadState(blob), state.size == size else {
            return PartState(blob: blob, size: size, durableBytes: 0)
        }
        var info = stat()
        let onDisk = stat(partPath(of: blob), &info) == 0 ? Int64(info.st_size) : 0
        state.durableBytes = max(0, min(state.durableBytes, onDisk, size))
        return state
    }

    static func mib(_ bytes: Int64) -> Int64 { (bytes + (1 << 20) - 1) >> 20 }
}

/// Appends to a `.part` file and records durable progress next to it.
final class PartWriter {
    private var fd: Int32
    private let path: String
    private let statePath: String
    private var state: ModelDownloader.PartState
    private let checkpointBytes: Int64
    private(set) var written: Int64
    private let stateFile: PartStateFile

    init(path: String, statePath: String, state: ModelDownloader.PartState, checkpointBytes: Int64) throws {
        self.path = path
        self.statePath = statePath
        self.state = state
        self.checkpointBytes = checkpointBytes
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw AgentError(.io, "cannot open the part file: \(String(cString: strerror(errno)))", path: path)
        }
        // Bytes past the durable point may be lost or zero after a power cut: fetch them again.
        guard ftruncate(fd, off_t(state.durableBytes)) == 0 else {
            throw AgentError(.io, "cannot truncate the part file: \(String(cString: strerror(errno)))", path: path)
        }
        written = state.durableBytes
        // Made before the reservation: its blocks, too, are taken while there is space.
        stateFile = try PartStateFile(path: statePath, state: state)
        try reserve()
    }

    /// Reserves disk blocks for the whole blob (`DiskReservation`, keeping the file's length),
    /// so a queue growing during a long download cannot take the space the model needs.
    /// File systems that cannot reserve are left to the statvfs check. Throws `.modelUpdate`
    /// on ENOSPC.
    private func reserve() throws {
        guard state.size > state.durableBytes else { return }
        let result = DiskReservation.reserve(fd: fd, offset: state.durableBytes, length: state.size - state.durableBytes, keepSize: true)
        if result == .noSpace {
            throw AgentError(.modelUpdate, "not enough disk space to reserve \(state.size - state.durableBytes) bytes for blob "
                             + "\(state.blob): free space on the state file system", path: path)
        }
    }

    private var lastCheckpoint = ContinuousClock.now

    /// Every `checkpointBytes` or every second, whichever comes first (a slow link still
    /// persists its progress).
    var checkpointDue: Bool {
        written - state.durableBytes >= checkpointBytes
            || (written > state.durableBytes && ContinuousClock.now - lastCheckpoint >= .seconds(1))
    }

    func append(_ data: Data) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                guard let base = raw.baseAddress else { return }
                let n = pwrite(fd, base + offset, raw.count - offset, off_t(written) + off_t(offset))
                guard n > 0 else {
                    if errno == ENOSPC {
                        throw AgentError(.io, "the disk filled during the download of blob \(state.blob) (this file system "
                                         + "cannot reserve space up front): \(state.durableBytes) of \(state.size) bytes kept "
                                         + "for the next try once space is free", path: path)
                    }
                    throw AgentError(.io, "cannot write the part file: \(String(cString: strerror(errno)))", path: path)
                }
                offset += n
            }
        }
        written += Int64(data.count)
    }

    /// fsyncs the data, then records the new durable length (atomically).
    func checkpoint() throws {
        guard fd >= 0, written != state.durableBytes else { return }
        guard fsync(fd) == 0 else {
            throw AgentError(.io, "cannot flush the part file: \(String(cString: strerror(errno)))", path: path)
        }
        state.durableBytes = written
        lastCheckpoint = ContinuousClock.now
        try stateFile.write(state)
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        stateFile.close()
    }
}

/// Sleeps as needed so the average rate stays under a limit.
final class Throttle {
    private let bytesPerSecond: Int64
    private let start = ContinuousClock.now
    private var bytes: Int64 = 0

    init(bytesPerSecond: Int64) { self.bytesPerSecond = bytesPerSecond }

    func consumed(_ count: Int) async throws {
        guard bytesPerSecond > 0 else { return }
        bytes += Int64(count)
        let due = Duration.seconds(Double(bytes) / Double(bytesPerSecond))
        let elapsed = ContinuousClock.now - start
        if due > elapsed { try await Task.sleep(for: due - elapsed) }
    }
}
