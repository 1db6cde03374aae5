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
    ///   - textToID: vocabulary text (bytes) → token id.
    ///   - vocabularySize: number of tokens; extra ids are allocated from here.
    ///   - rules: merge rules, "left right" split at the first space after index 0.
    init(rules: [[UInt8]], textToID: [[UInt8]: Int32], vocabularySize: Int) {
        var extra: [[UInt8]: Int32] = [:]
        var nextExtra = Int32(vocabularySize)
        func symbolID(_ text: [UInt8]) -> Int32 {
            if let id = textToID[text] { return id }
            if let id = extra[text] { return id }
            let id = nextExtra
            nextExtra += 1
            extra[text] = id
            return id
        }
        var byPair: [UInt64: Merge] = [:]
        byPair.reserveCapacity(rules.count)
        for (rank, rule) in rules.enumerated() {
            guard rule.count > 1, let space = rule[1...].firstIndex(of: 0x20) else { continue }
            let left = Array(rule[..<space])
            let right = Array(rule[(space + 1)...])
            if right.isEmpty { continue }  // an empty part never matches a symbol
            let key = UInt64(UInt32(bitPattern: symbolID(left))) << 32
                | UInt64(UInt32(bitPattern: symbolID(right)))
            if byPair[key] == nil {
                byPair[key] = Merge(rank: Int32(truncatingIfNeeded: rank), result: symbolID(left + right))
            }
        }
        merges = PairTable(byPair)
        for byte in 0..<256 {
            let text = ByteLevelAlphabet.encodedByte[byte]
            byteSymbol[byte] = textToID[text] ?? extra[text] ?? -1
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
