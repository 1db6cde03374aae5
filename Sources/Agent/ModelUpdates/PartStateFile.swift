#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation

/// Where a `.part` file's resume point lives (`<blob>.part.json`): two 512-byte slots, each a
/// JSON record with a sequence number and a checksum, overwritten in place alternately and
/// fsynced. In place, because a full disk must not stop a download whose blocks were reserved:
/// a fresh file per checkpoint (write + rename) needs a new block exactly when the disk is full.
/// Alternating, because a write cut by power loss can only damage the slot being written; the
/// other still holds the previous checkpoint. (A file holding one plain JSON record, as older
/// agents wrote, is still read.)
final class PartStateFile {
    static let slotBytes = 512

    private struct Slot: Codable {
        var blob: String
        var size: Int64
        var durableBytes: Int64
        var sequence: Int
        var check: String
    }

    private var fd: Int32
    private let path: String
    private var sequence: Int

    /// Creates (or takes over) the record at `path`, both slots holding `state`. Throws `.io`.
    init(path: String, state: ModelDownloader.PartState) throws {
        self.path = path
        sequence = 0
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw AgentError(.io, "cannot create the download state: \(String(cString: strerror(errno)))", path: path)
        }
        try write(state)
        try write(state)
        DurableFiles.syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// Overwrites the older slot with `state` and fsyncs. Throws `.io`.
    func write(_ state: ModelDownloader.PartState) throws {
        sequence += 1
        var bytes = Array(Self.encode(state, sequence: sequence).utf8)
        bytes += [UInt8](repeating: UInt8(ascii: " "), count: max(0, Self.slotBytes - 1 - bytes.count))
        bytes.append(UInt8(ascii: "\n"))
        guard bytes.count == Self.slotBytes else {
            throw AgentError(.io, "the download state of blob \(state.blob) does not fit its slot", path: path)
        }
        let offset = off_t((sequence % 2) * Self.slotBytes)
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
        guard n == Self.slotBytes, fsync(fd) == 0 else {
            throw AgentError(.io, "cannot write the download state: \(String(cString: strerror(errno)))", path: path)
        }
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// The newest intact record at `path`, or nil.
    static func load(path: String) -> ModelDownloader.PartState? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        if let legacy = try? JSONDecoder().decode(ModelDownloader.PartState.self, from: data) { return legacy }
        var best: Slot?
        for start in stride(from: 0, to: data.count, by: slotBytes) {
            let piece = data[data.startIndex + start ..< data.startIndex + min(data.count, start + slotBytes)]
            guard let slot = try? JSONDecoder().decode(Slot.self, from: Data(piece)),
                  slot.check == checksum(blob: slot.blob, size: slot.size, durableBytes: slot.durableBytes, sequence: slot.sequence)
            else { continue }
            if best.map({ slot.sequence > $0.sequence }) ?? true { best = slot }
        }
        return best.map { ModelDownloader.PartState(blob: $0.blob, size: $0.size, durableBytes: $0.durableBytes) }
    }

    private static func encode(_ state: ModelDownloader.PartState, sequence: Int) -> String {
        let slot = Slot(blob: state.blob, size: state.size, durableBytes: state.durableBytes, sequence: sequence,
                        check: checksum(blob: state.blob, size: state.size, durableBytes: state.durableBytes, sequence: sequence))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(slot)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    private static func checksum(blob: String, size: Int64, durableBytes: Int64, sequence: Int) -> String {
        SHA256.hash(data: Data("\(blob)|\(size)|\(durableBytes)|\(sequence)".utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}
