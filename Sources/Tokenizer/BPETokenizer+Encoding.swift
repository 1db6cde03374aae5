extension BPETokenizer {
    /// A piece of input after special tokens have been cut out.
    enum Fragment {
        case text(Range<Int>)
        case token(TokenID)
    }

    /// Tokenizes `text` as llama.cpp's `llama_tokenize` does.
    /// - Parameters:
    ///   - addSpecial: add BOS/EOS if the vocabulary asks for them (`addsBOS`, `addsEOS`).
    ///   - parseSpecial: match control tokens (e.g. `<|im_start|>`) in the text; user-defined
    ///     tokens are always matched, as in llama.cpp.
    public func tokenize(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = false) -> [TokenID] {
        var bytes = Array(text.utf8)
        // Valid UTF-8 never decodes above U+10FFFF, so the throwing path cannot be taken.
        return (try? tokenize(utf8: &bytes, valid: true, addSpecial: addSpecial, parseSpecial: parseSpecial)) ?? []
    }

    /// Tokenizes raw bytes. Malformed UTF-8 is handled as llama.cpp does (each bad byte becomes
    /// U+FFFD) except where llama.cpp itself fails.
    /// - Throws: `TokenizerError.invalidUTF8` for a 4-byte form above U+10FFFF.
    public func tokenize(utf8 bytes: [UInt8], addSpecial: Bool = true, parseSpecial: Bool = false) throws -> [TokenID] {
        if model == .sentencePiece {
            return tokenizeSentencePiece(bytes, addSpecial: addSpecial, parseSpecial: parseSpecial)
        }
        var copy = bytes
        let valid = String(validating: bytes, as: UTF8.self) != nil
        return try tokenize(utf8: &copy, valid: valid, addSpecial: addSpecial, parseSpecial: parseSpecial)
    }

    /// - Parameter valid: the bytes are well-formed UTF-8, so words are slices of the input;
    ///   otherwise each word is re-encoded from the lenient decoding, as llama.cpp does.
    private func tokenize(utf8 bytes: inout [UInt8], valid: Bool, addSpecial: Bool,
                          parseSpecial: Bool) throws -> [TokenID] {
        if model == .sentencePiece {
            return tokenizeSentencePiece(bytes, addSpecial: addSpecial, parseSpecial: parseSpecial)
        }
        // Byte-level BPE always has a pre-tokenizer (its initializer requires one).
        guard let preTokenizer else { return [] }
        var output: [TokenID] = []
        output.reserveCapacity(bytes.count / 3 + 4)
        if addSpecial && addsBOS, let bos = specialTokens.bos { output.append(bos) }
        let fragments = bytes.isEmpty ? [] : partition(bytes, parseSpecial: parseSpecial)
        var encoder = BPEWordEncoder()
        var cache = ByteStringTable()  // words seen in this call; id → where its tokens went in output
        var cachedRanges: [Range<Int>] = []
        var lengths: [Int] = []
        var word: [UInt8] = []
        try bytes.withUnsafeBufferPointer { all in
            for fragment in fragments {
                switch fragment {
                case .token(let id):
                    output.append(id)
                case .text(let range):
                    let codepoints = LenientUTF8.decode(UnsafeBufferPointer(rebasing: all[range]))
                    lengths.removeAll(keepingCapacity: true)
                    codepoints.withUnsafeBufferPointer { preTokenizer.split($0, into: &lengths) }
                    var start = 0
                    var byteOffset = range.lowerBound
                    for length in lengths {
                        word.removeAll(keepingCapacity: true)
                        if valid {
                            var byteLength = 0
                            for codepoint in codepoints[start..<(start + length)] {
                                byteLength += codepoint < 0x80 ? 1 : codepoint < 0x800 ? 2 : codepoint < 0x10000 ? 3 : 4
                            }
                            word.append(contentsOf: UnsafeBufferPointer(rebasing: all[byteOffset..<(byteOffset + byteLength)]))
                            byteOffset += byteLength
                        } else {
                            for codepoint in codepoints[start..<(start + length)] {
                                guard LenientUTF8.append(codepoint, to: &word) else {
                                    throw TokenizerError.invalidUTF8(byteOffset: range.lowerBound)
                                }
                            }
                        }
                        start += length
                        let (id, isNew) = cache.insert(word)
                        if isNew {
                            let first = output.count
                            encodeWord(word, preTokenizer: preTokenizer, encoder: &encoder, output: &output)
                            cachedRanges.append(first..<output.count)
                        } else {
                            // Index by index: appending a slice of `output` to itself would copy it.
                            for index in cachedRanges[Int(id)] { output.append(output[index]) }
                        }
                    }
                }
            }
        }
        if addSpecial && addsEOS, let eos = specialTokens.eos { output.append(eos) }
        return output
    }

    /// llama.cpp's SPM branch of `llama_vocab::impl::tokenize`. Bytes are used as given (no
    /// UTF-8 repair: malformed bytes end up as byte tokens).
    private func tokenizeSentencePiece(_ bytes: [UInt8], addSpecial: Bool, parseSpecial: Bool) -> [TokenID] {
        var output: [TokenID] = []
        output.reserveCapacity(bytes.count / 2 + 4)
        if addSpecial && addsBOS, let bos = specialTokens.bos { output.append(bos) }
        let fragments = bytes.isEmpty ? [] : partition(bytes, parseSpecial: parseSpecial)
        var encoder = SentencePieceEncoder()
        var text: [UInt8] = []
        // The text at the start, and after every special token, gets a space in front.
        var afterSpecial = true
        for fragment in fragments {
            switch fragment {
            case .token(let id):
                output.append(id)
                afterSpecial = true
            case .text(let range):
                text.removeAll(keepingCapacity: true)
                if addsSpacePrefix && afterSpecial { text.append(contentsOf: Self.escapedSpace) }
                for byte in bytes[range] {
                    if byte == UInt8(ascii: " ") { text.append(contentsOf: Self.escapedSpace) } else { text.append(byte) }
                }
                text.withUnsafeBufferPointer {
                    encoder.encode($0, strings: strings, scores: scores, byteTokens: byteTokens, output: &output)
                }
                afterSpecial = false
            }
        }
        if addSpecial && addsEOS, let eos = specialTokens.eos { output.append(eos) }
        return output
    }

    /// "▁" (U+2581), SentencePiece's stand-in for a space.
    static let escapedSpace: [UInt8] = [0xE2, 0x96, 0x81]

    private func encodeWord(_ word: [UInt8], preTokenizer: PreTokenizer, encoder: inout BPEWordEncoder,
                            output: inout [TokenID]) {
        if preTokenizer.ignoresMerges {
            var encoded: [UInt8] = []
            encoded.reserveCapacity(word.count * 2)
            for byte in word { encoded.append(contentsOf: ByteLevelAlphabet.encodedByte[Int(byte)]) }
            if let id = tokenID(of: encoded) {
                output.append(id)
                return
            }
        }
        word.withUnsafeBufferPointer {
            encoder.encode($0, table: mergeTable, vocabularySize: Int32(tokenTexts.count),
                           singleByteToken: singleByteToken, output: &output)
        }
    }

    /// Cuts special tokens out of the text, longest token first, each at all its leftmost
    /// non-overlapping occurrences (llama.cpp `tokenizer_st_partition`). Only positions holding
    /// the first byte of some special token are examined (in text that is mostly "<").
    func partition(_ bytes: [UInt8], parseSpecial: Bool) -> [Fragment] {
        var fragments: [Fragment] = [.text(0..<bytes.count)]
        let candidates = specialTokensByLength.filter {
            parseSpecial || attributes[Int($0)].isDisjoint(with: [.control, .unknown])
        }
        if candidates.isEmpty { return fragments }
        var isFirstByte = [Bool](repeating: false, count: 256)
        for id in candidates { if let first = tokenTexts[Int(id)].first { isFirstByte[Int(first)] = true } }
        var positions: [Int] = []
        for (index, byte) in bytes.enumerated() where isFirstByte[Int(byte)] { positions.append(index) }
        if positions.isEmpty { return fragments }
        bytes.withUnsafeBufferPointer { text in
            for id in candidates {
                let needle = tokenTexts[Int(id)]
                guard let first = needle.first else { continue }
                var next: [Fragment] = []
                var changed = false
                for fragment in fragments {
                    guard case .text(let range) = fragment else { next.append(fragment); continue }
                    var start = range.lowerBound
                    var searchFrom = range.lowerBound
                    var candidate = firstIndex(in: positions, notBelow: range.lowerBound)
                    while candidate < positions.count {
                        let position = positions[candidate]
                        candidate += 1
                        if position + needle.count > range.upperBound { break }
                        if position < searchFrom || text[position] != first || !matches(needle, text, at: position) {
                            continue
                        }
                        if position > start { next.append(.text(start..<position)) }
                        next.append(.token(id))
                        changed = true
                        searchFrom = position + needle.count
                        start = searchFrom
                    }
                    if start < range.upperBound { next.append(.text(start..<range.upperBound)) }
                }
                if changed { fragments = next }
            }
        }
        return fragments
    }

    /// Index of the first element of the sorted `positions` that is ≥ `value`.
    private func firstIndex(in positions: [Int], notBelow value: Int) -> Int {
        var low = 0, high = positions.count
        while low < high {
            let middle = (low + high) / 2
            if positions[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    @inline(__always)
    private func matches(_ needle: [UInt8], _ text: UnsafeBufferPointer<UInt8>, at offset: Int) -> Bool {
        for index in 1..<needle.count where text[offset + index] != needle[index] { return false }
        return true
    }
}
