/// Applies BPE merges to one pre-tokenized word, lowest rank first and leftmost first among
/// equal ranks (llama.cpp `llm_tokenizer_bpe_session::tokenize`). Holds scratch buffers so a
/// tokenize call allocates them once.
struct BPEWordEncoder {
    private struct Candidate: MergePriority {
        var rank: Int32
        var left: Int32
        var right: Int32
        var leftSymbol: Int32
        var rightSymbol: Int32

        @inline(__always)
        func precedes(_ other: Candidate) -> Bool {
            rank < other.rank || (rank == other.rank && left < other.left)
        }
    }

    private var symbol: [Int32] = []
    private var length: [Int32] = []
    private var previous: [Int32] = []
    private var next: [Int32] = []
    private var queue = MergeQueue<Candidate>()

    /// Appends the tokens for `word` (raw bytes) to `output`.
    /// - Parameters:
    ///   - word: the word's bytes (before the byte-level alphabet mapping).
    ///   - table: merge ranks and byte symbols.
    ///   - vocabularySize: ids below this are tokens; others are merge-only strings.
    ///   - singleByteToken: token for a one-byte vocabulary text, for llama.cpp's fallback of
    ///     symbols that are not tokens (it looks up each byte of the symbol's text alone).
    mutating func encode(_ word: UnsafeBufferPointer<UInt8>, table: BPEMergeTable, vocabularySize: Int32,
                         singleByteToken: [Int32], output: inout [TokenID]) {
        let count = word.count
        if count == 0 { return }
        symbol.removeAll(keepingCapacity: true)
        length.removeAll(keepingCapacity: true)
        previous.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        queue.removeAll()
        for index in 0..<count {
            symbol.append(table.byteSymbol[Int(word[index])])
            length.append(1)
            previous.append(Int32(index - 1))
            next.append(index + 1 == count ? -1 : Int32(index + 1))
        }
        for index in 1..<max(count, 1) { consider(Int32(index - 1), Int32(index), table) }

        while let best = queue.popBest() {
            let left = Int(best.left), right = Int(best.right)
            if length[left] == 0 || length[right] == 0 { continue }
            if symbol[left] != best.leftSymbol || symbol[right] != best.rightSymbol { continue }  // stale
            guard let merged = table.merge(best.leftSymbol, best.rightSymbol) else { continue }
            symbol[left] = merged.result
            length[left] += length[right]
            length[right] = 0
            next[left] = next[right]
            if next[right] >= 0 { previous[Int(next[right])] = best.left }
            consider(previous[left], best.left, table)
            consider(best.left, next[left], table)
        }

        var index: Int32 = 0
        var offset = 0
        while index >= 0 {
            let position = Int(index)
            let id = symbol[position]
            if id >= 0 && id < vocabularySize {
                output.append(id)
            } else {
                // Not a token: llama.cpp emits, for each byte of the symbol's alphabet text, the
                // token whose text is that single byte (only ASCII can be one), dropping the rest.
                for byteIndex in offset..<(offset + Int(length[position])) {
                    for encoded in ByteLevelAlphabet.encodedByte[Int(word[byteIndex])] {
                        let token = singleByteToken[Int(encoded)]
                        if token >= 0 { output.append(token) }
                    }
                }
            }
            offset += Int(length[position])
            index = next[position]
        }
    }

    @inline(__always)
    private mutating func consider(_ left: Int32, _ right: Int32, _ table: BPEMergeTable) {
        if left < 0 || right < 0 { return }
        let leftSymbol = symbol[Int(left)], rightSymbol = symbol[Int(right)]
        if leftSymbol < 0 || rightSymbol < 0 { return }
        guard let merge = table.merge(leftSymbol, rightSymbol) else { return }
        queue.push(Candidate(rank: merge.rank, left: left, right: right,
                             leftSymbol: leftSymbol, rightSymbol: rightSymbol))
    }
}
