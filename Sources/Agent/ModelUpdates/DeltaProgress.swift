#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation

/// The persisted progress of a tensor delta (`<staging>/<sha256>.delta.json`, next to the
/// partial output `<sha256>.delta`): which byte ranges of the new file are on disk *and
/// fsynced*, and how much of the header prefix arrived. Written only after the output file was
/// fsynced, so after a kill or power cut it never claims bytes the disk may not hold; a
/// restarted delta fetches only what is not covered (issue 9: "resumes without re-downloading
/// what it had"), after checking every covered tensor against its manifest digest.
struct DeltaProgress: Codable, Equatable {
    /// The file being assembled (its manifest SHA-256) and its size.
    var blob: String
    var size: Int64
    /// Length of the header prefix fetched so far.
    var headerBytes: Int64 = 0
    /// Durable byte ranges, sorted, disjoint, not adjacent (as `[lower, upper]` pairs).
    private var ranges: [[Int64]] = []

    init(blob: String, size: Int64) {
        self.blob = blob
        self.size = size
    }

    /// The durable ranges.
    var durable: [Range<Int64>] { ranges.compactMap { $0.count == 2 && $0[0] < $0[1] ? $0[0] ..< $0[1] : nil } }

    /// Total durable bytes.
    var durableBytes: Int64 { durable.reduce(Int64(0)) { $0 + ($1.upperBound - $1.lowerBound) } }

    /// Whether all of `range` is durable.
    func covers(_ range: Range<Int64>) -> Bool {
        range.isEmpty || durable.contains { $0.lowerBound <= range.lowerBound && range.upperBound <= $0.upperBound }
    }

    /// The parts of `range` that are not durable, in order.
    func missing(in range: Range<Int64>) -> [Range<Int64>] {
        var gaps: [Range<Int64>] = []
        var position = range.lowerBound
        for piece in durable where piece.upperBound > position && piece.lowerBound < range.upperBound {
            if piece.lowerBound > position { gaps.append(position ..< piece.lowerBound) }
            position = max(position, piece.upperBound)
        }
        if position < range.upperBound { gaps.append(position ..< range.upperBound) }
        return gaps
    }

    /// Marks `range` durable (merging with neighbours).
    mutating func insert(_ range: Range<Int64>) {
        guard !range.isEmpty else { return }
        var merged = range
        var kept: [Range<Int64>] = []
        for piece in durable {
            if piece.upperBound < merged.lowerBound || piece.lowerBound > merged.upperBound {
                kept.append(piece)
            } else {
                merged = min(piece.lowerBound, merged.lowerBound) ..< max(piece.upperBound, merged.upperBound)
            }
        }
        kept.append(merged)
        ranges = kept.sorted { $0.lowerBound < $1.lowerBound }.map { [$0.lowerBound, $0.upperBound] }
    }

    /// Forgets `range` (bytes found not to match their digest: fetch them again).
    mutating func remove(_ range: Range<Int64>) {
        var kept: [Range<Int64>] = []
        for piece in durable {
            if piece.upperBound <= range.lowerBound || piece.lowerBound >= range.upperBound {
                kept.append(piece)
                continue
            }
            if piece.lowerBound < range.lowerBound { kept.append(piece.lowerBound ..< range.lowerBound) }
            if piece.upperBound > range.upperBound { kept.append(range.upperBound ..< piece.upperBound) }
        }
        ranges = kept.map { [$0.lowerBound, $0.upperBound] }
    }

    /// Bumped by every `save`: the newer of the record's two slots wins.
    private var sequence = 0

    /// Bytes of each of the record file's two slots (room for ~2000 ranges).
    static let slotBytes = 64 << 10

    private struct Slot: Codable {
        var progress: DeltaProgress
        var check: String
    }

    private static func encoded<Value: Encodable>(_ value: Value) -> Data? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try? encoder.encode(value)
    }

    private static func check(_ data: Data) -> String {
        SHA256.hash(data: data).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// The newest intact record at `path` when it is for `blob` of `size`, else nil (none,
    /// unreadable, another file).
    static func load(path: String, blob: String, size: Int64) -> DeltaProgress? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        var best: DeltaProgress?
        for start in stride(from: 0, to: data.count, by: slotBytes) {
            let piece = Data(data[data.startIndex + start ..< data.startIndex + min(data.count, start + slotBytes)])
            guard let slot = try? JSONDecoder().decode(Slot.self, from: piece),
                  let bytes = encoded(slot.progress), check(bytes) == slot.check,
                  slot.progress.blob == blob, slot.progress.size == size else { continue }
            if best.map({ slot.progress.sequence > $0.sequence }) ?? true { best = slot.progress }
        }
        return best
    }

    /// Writes the record durably *in place*: the older of two fixed slots of a file made (and
    /// its blocks reserved) by the first save, so later saves need no free block, as a full disk
    /// must not stop a delta whose output file was reserved; a torn write damages only the slot
    /// being written. Throws `AgentError(.io)`.
    mutating func save(path: String) throws {
        sequence += 1
        guard let payload = Self.encoded(self), var bytes = Self.encoded(Slot(progress: self, check: Self.check(payload))).map(Array.init),
              bytes.count < Self.slotBytes else {
            throw AgentError(.io, "the delta progress does not fit its record (\(durable.count) ranges)", path: path)
        }
        bytes += [UInt8](repeating: UInt8(ascii: " "), count: Self.slotBytes - 1 - bytes.count)
        bytes.append(UInt8(ascii: "\n"))
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw AgentError(.io, "cannot open the delta progress: \(String(cString: strerror(errno)))", path: path)
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, Int64(info.st_size) < Int64(2 * Self.slotBytes) {
            // First save: both slots' blocks now (a fresh file's directory entry made durable too).
            guard DiskReservation.reserve(fd: fd, offset: 0, length: Int64(2 * Self.slotBytes), keepSize: false) != .noSpace,
                  ftruncate(fd, off_t(2 * Self.slotBytes)) == 0 else {
                throw AgentError(.io, "cannot make the delta progress: \(String(cString: strerror(errno)))", path: path)
            }
            DurableFiles.syncDirectory((path as NSString).deletingLastPathComponent)
        }
        let offset = off_t((sequence % 2) * Self.slotBytes)
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
        guard written == Self.slotBytes, fsync(fd) == 0 else {
            throw AgentError(.io, "cannot write the delta progress: \(String(cString: strerror(errno)))", path: path)
        }
    }
}
