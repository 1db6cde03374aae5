/// The BPE merge ranks of a byte-level vocabulary, keyed by pairs of symbol ids so that merging
/// never builds strings. Symbol ids are token ids, plus extra ids (≥ vocabulary size) for
/// strings that occur in merges without being tokens, so every string has exactly one id.
struct BPEMergeTable: Sendable {
    struct Merge: Sendable {
        var rank: Int32
        var result: Int32
    }

    /// (left id << 32 | right id) → rank and id of the merged string; the first rule wins when
    /// a pair is listed twice (llama.cpp `bpe_ranks.emplace`).
    private var merges: PairTable
    /// Symbol id of each byte's alphabet character (-1 if the string is unknown).
    private(set) var byteSymbol: [Int32] = Array(repeating: -1, count: 256)

    /// - Parameters:
    ///   - rules: merge rules, "left right" split at the first space after index 0.
    ///   - strings: the vocabulary texts (ids = token ids); strings that occur in merges without
    ///     being tokens are added to it with ids from the vocabulary size upwards.
    init(rules: [[UInt8]], strings: inout ByteStringTable) {
        var byPair: [UInt64: Merge] = [:]
        byPair.reserveCapacity(rules.count)
        var joined: [UInt8] = []
        for (rank, rule) in rules.enumerated() {
            guard rule.count > 1, let space = rule[1...].firstIndex(of: 0x20), space + 1 < rule.count else {
                continue  // no second part: llama.cpp stores an empty pair that never matches
            }
            let (left, right, result) = rule.withUnsafeBufferPointer { all -> (Int32, Int32, Int32) in
                let leftPart = UnsafeBufferPointer(rebasing: all[..<space])
                let rightPart = UnsafeBufferPointer(rebasing: all[(space + 1)...])
                joined.removeAll(keepingCapacity: true)
                joined.append(contentsOf: leftPart)
                joined.append(contentsOf: rightPart)
                let left = strings.insert(leftPart).id
                let right = strings.insert(rightPart).id
                return (left, right, strings.insert(joined).id)
            }
            let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
            if byPair[key] == nil {
                byPair[key] = Merge(rank: Int32(truncatingIfNeeded: rank), result: result)
            }
        }
        merges = PairTable(byPair)
        for byte in 0..<256 {
            byteSymbol[byte] = strings.id(of: ByteLevelAlphabet.encodedByte[byte]) ?? -1
        }
    }

    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> Merge? {
        merges[UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))]
    }

    /// Open-addressing hash table from id pairs to merges: lookups are the hot path of BPE and a
    /// multiplicative hash is several times cheaper than `Dictionary`'s seeded SipHash.
    struct PairTable: Sendable {
        private static let empty = UInt64.max
        private let keys: [UInt64]
        private let values: [Merge]
        private let shift: UInt64

        init(_ pairs: [UInt64: Merge]) {
            var capacity = 16
            while capacity < pairs.count * 2 { capacity *= 2 }
            shift = UInt64(64 - capacity.trailingZeroBitCount)
            var keys = [UInt64](repeating: Self.empty, count: capacity)
            var values = [Merge](repeating: Merge(rank: 0, result: 0), count: capacity)
            let mask = capacity - 1
            for (key, value) in pairs {
                var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
                while keys[slot] != Self.empty { slot = (slot + 1) & mask }
                keys[slot] = key
                values[slot] = value
            }
            self.keys = keys
            self.values = values
        }

        @inline(__always)
        subscript(key: UInt64) -> Merge? {
            let mask = keys.count - 1
            var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while true {
                let stored = keys[slot]
                if stored == key { return values[slot] }
                if stored == Self.empty { return nil }
                slot = (slot + 1) & mask
            }
        }
    }
}
