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

    /// The record at `path` when it is for `blob` of `size`, else nil (none, unreadable, other file).
    static func load(path: String, blob: String, size: Int64) -> DeltaProgress? {
        guard let data = FileManager.default.contents(atPath: path),
              let progress = try? JSONDecoder().decode(DeltaProgress.self, from: data),
              progress.blob == blob, progress.size == size else { return nil }
        return progress
    }

    /// Writes the record atomically and durably. Throws `AgentError(.io)`.
    func save(path: String) throws {
        let data: Data
        do { data = try JSONEncoder().encode(self) } catch {
            throw AgentError(.io, "cannot encode the delta progress: \(error)", path: path)
        }
        try DurableFiles.write(data, to: path)
    }
}
