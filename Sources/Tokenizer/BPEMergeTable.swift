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
    private(set) var merges: [UInt64: Merge] = [:]
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
        merges.reserveCapacity(rules.count)
        for (rank, rule) in rules.enumerated() {
            guard rule.count > 1, let space = rule[1...].firstIndex(of: 0x20) else { continue }
            let left = Array(rule[..<space])
            let right = Array(rule[(space + 1)...])
            if right.isEmpty { continue }  // an empty part never matches a symbol
            let key = UInt64(UInt32(bitPattern: symbolID(left))) << 32
                | UInt64(UInt32(bitPattern: symbolID(right)))
            if merges[key] == nil {
                merges[key] = Merge(rank: Int32(truncatingIfNeeded: rank), result: symbolID(left + right))
            }
        }
        for byte in 0..<256 {
            let text = ByteLevelAlphabet.encodedByte[byte]
            byteSymbol[byte] = textToID[text] ?? extra[text] ?? -1
        }
    }

    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> Merge? {
        merges[UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))]
    }
}
