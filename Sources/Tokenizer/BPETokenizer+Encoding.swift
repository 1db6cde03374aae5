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
        return (try? tokenize(utf8: &bytes, addSpecial: addSpecial, parseSpecial: parseSpecial)) ?? []
    }

    /// Tokenizes raw bytes. Malformed UTF-8 is handled as llama.cpp does (each bad byte becomes
    /// U+FFFD) except where llama.cpp itself fails.
    /// - Throws: `TokenizerError.invalidUTF8` for a 4-byte form above U+10FFFF.
    public func tokenize(utf8 bytes: [UInt8], addSpecial: Bool = true, parseSpecial: Bool = false) throws -> [TokenID] {
        var copy = bytes
        return try tokenize(utf8: &copy, addSpecial: addSpecial, parseSpecial: parseSpecial)
    }

    private func tokenize(utf8 bytes: inout [UInt8], addSpecial: Bool, parseSpecial: Bool) throws -> [TokenID] {
        var output: [TokenID] = []
        output.reserveCapacity(bytes.count / 3 + 4)
        if addSpecial && addsBOS, let bos = specialTokens.bos { output.append(bos) }
        let fragments = bytes.isEmpty ? [] : partition(bytes, parseSpecial: parseSpecial)
        var encoder = BPEWordEncoder()
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
                    for length in lengths {
                        word.removeAll(keepingCapacity: true)
                        for codepoint in codepoints[start..<(start + length)] {
                            guard LenientUTF8.append(codepoint, to: &word) else {
                                throw TokenizerError.invalidUTF8(byteOffset: range.lowerBound)
                            }
                        }
                        start += length
                        encodeWord(word, encoder: &encoder, output: &output)
                    }
                }
            }
        }
        if addSpecial && addsEOS, let eos = specialTokens.eos { output.append(eos) }
        return output
    }

    private func encodeWord(_ word: [UInt8], encoder: inout BPEWordEncoder, output: inout [TokenID]) {
        if preTokenizer.ignoresMerges {
            var encoded: [UInt8] = []
            encoded.reserveCapacity(word.count * 2)
            for byte in word { encoded.append(contentsOf: ByteLevelAlphabet.encodedByte[Int(byte)]) }
            if let id = textToID[encoded] {
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
    /// non-overlapping occurrences (llama.cpp `tokenizer_st_partition`).
    func partition(_ bytes: [UInt8], parseSpecial: Bool) -> [Fragment] {
        var fragments: [Fragment] = [.text(0..<bytes.count)]
        bytes.withUnsafeBufferPointer { text in
            for id in specialTokensByLength {
                if !parseSpecial && !attributes[Int(id)].isDisjoint(with: [.control, .unknown]) { continue }
                let needle = tokenTexts[Int(id)]
                guard let first = needle.first else { continue }
                var next: [Fragment] = []
                var changed = false
                for fragment in fragments {
                    guard case .text(let range) = fragment else { next.append(fragment); continue }
                    var start = range.lowerBound
                    var searchFrom = range.lowerBound
                    let end = range.upperBound
                    while searchFrom + needle.count <= end {
                        guard text[searchFrom] == first, matches(needle, text, at: searchFrom) else {
                            searchFrom += 1
                            continue
                        }
                        if searchFrom > start { next.append(.text(start..<searchFrom)) }
                        next.append(.token(id))
                        changed = true
                        searchFrom += needle.count
                        start = searchFrom
                    }
                    if start < end { next.append(.text(start..<end)) }
                }
                if changed { fragments = next }
            }
        }
        return fragments
    }

    @inline(__always)
    private func matches(_ needle: [UInt8], _ text: UnsafeBufferPointer<UInt8>, at offset: Int) -> Bool {
        for index in 1..<needle.count where text[offset + index] != needle[index] { return false }
        return true
    }
}
