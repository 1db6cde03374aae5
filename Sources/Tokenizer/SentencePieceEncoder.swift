/// Encodes one text fragment with a SentencePiece vocabulary (GGUF `tokenizer.ggml.model =
/// llama`) as llama.cpp's `llm_tokenizer_spm_session` does: the fragment (spaces already written
/// as "▁") is cut into UTF-8 characters, then the adjacent pair whose concatenation is the
/// best-scoring token is merged, again and again (equal scores: leftmost first). A final symbol
/// that is not a token is emitted as byte tokens `<0xXX>`. Holds scratch buffers so one
/// tokenize call allocates them once.
struct SentencePieceEncoder {
    private struct Bigram: MergePriority {
        var score: Float
        var left: Int32
        var right: Int32
        /// Byte length of the pair when it was queued: if either side changed since, the entry
        /// is stale (llama.cpp's check, which is exact because symbols only grow rightwards).
        var size: Int32

        @inline(__always)
        func precedes(_ other: Bigram) -> Bool {
            score > other.score || (score == other.score && left < other.left)
        }
    }

    private var start: [Int32] = []
    private var length: [Int32] = []
    private var previous: [Int32] = []
    private var next: [Int32] = []
    private var queue = MergeQueue<Bigram>()

    /// Appends the tokens of `text` to `output`.
    /// - Parameters:
    ///   - text: the escaped fragment; need not be valid UTF-8 (a character's length is read
    ///     from its lead byte alone and cut at the end of the text, as llama.cpp does).
    ///   - strings: token texts, id = token id.
    ///   - scores: each token's score (`tokenizer.ggml.scores`).
    ///   - byteTokens: the token for each byte value (`<0xXX>`, else the one-byte text), or -1.
    mutating func encode(_ text: UnsafeBufferPointer<UInt8>, strings: ByteStringTable, scores: [Float],
                         byteTokens: [Int32], output: inout [TokenID]) {
        let count = text.count
        if count == 0 { return }
        start.removeAll(keepingCapacity: true)
        length.removeAll(keepingCapacity: true)
        previous.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        queue.removeAll()
        var offset = 0
        while offset < count {
            let characterLength = min(Self.utf8Length(lead: text[offset]), count - offset)
            previous.append(Int32(start.count - 1))
            start.append(Int32(offset))
            length.append(Int32(characterLength))
            offset += characterLength
            next.append(offset == count ? -1 : Int32(start.count))
        }
        for index in 1..<max(start.count, 1) {
            consider(Int32(index - 1), Int32(index), text, strings, scores)
        }

        while let best = queue.popBest() {
            let left = Int(best.left), right = Int(best.right)
            if length[left] == 0 || length[right] == 0 || length[left] + length[right] != best.size { continue }
            length[left] += length[right]
            length[right] = 0
            next[left] = next[right]
            if next[right] >= 0 { previous[Int(next[right])] = best.left }
            consider(previous[left], best.left, text, strings, scores)
            consider(best.left, next[left], text, strings, scores)
        }

        // llama.cpp's `resegment` also consults the merges it recorded, but a recorded merge
        // is always a token, so a symbol that is not a token is never one of them: bytes it is.
        var index: Int32 = 0
        while index >= 0 {
            let symbol = Int(index)
            let range = Int(start[symbol])..<Int(start[symbol] + length[symbol])
            if let id = strings.id(of: UnsafeBufferPointer(rebasing: text[range])) {
                output.append(id)
            } else {
                for byte in text[range] {
                    // A vocabulary without the byte's token: llama.cpp throws (std::out_of_range)
                    // and the tokenize call fails; here the byte is dropped.
                    let token = byteTokens[Int(byte)]
                    if token >= 0 { output.append(token) }
                }
            }
            index = next[symbol]
        }
    }

    /// llama.cpp `unicode_len_utf8`: the sequence length announced by a lead byte (1 for
    /// continuation and invalid bytes).
    @inline(__always)
    static func utf8Length(lead: UInt8) -> Int {
        switch lead >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }

    @inline(__always)
    private mutating func consider(_ left: Int32, _ right: Int32, _ text: UnsafeBufferPointer<UInt8>,
                                   _ strings: ByteStringTable, _ scores: [Float]) {
        if left < 0 || right < 0 { return }
        let from = Int(start[Int(left)])
        let size = length[Int(left)] + length[Int(right)]
        guard let id = strings.id(of: UnsafeBufferPointer(rebasing: text[from..<(from + Int(size))])) else { return }
        queue.push(Bigram(score: scores[Int(id)], left: left, right: right, size: size))
    }
}
