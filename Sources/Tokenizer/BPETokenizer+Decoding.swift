extension BPETokenizer {
    /// The bytes a token stands for (llama.cpp `llama_token_to_piece`).
    /// - Parameters:
    ///   - special: render control and unknown tokens as their text; when false they render as
    ///     nothing. User-defined tokens always render as their text.
    ///   - lstrip: drop up to this many leading spaces of the piece.
    /// - Returns: the bytes (possibly an incomplete UTF-8 sequence); empty for ids out of range.
    public func piece(for token: TokenID, special: Bool, lstrip: Int = 0) -> [UInt8] {
        guard token >= 0 && Int(token) < pieces.count else { return [] }
        if !special && !attributes[Int(token)].isDisjoint(with: [.unknown, .control]) { return [] }
        let piece = pieces[Int(token)]
        if lstrip <= 0 { return piece }
        let spaces = piece.prefix(lstrip).prefix { $0 == UInt8(ascii: " ") }.count
        return Array(piece.dropFirst(spaces))
    }

    /// Concatenated pieces of `tokens` as bytes (llama.cpp `llama_detokenize`), including its
    /// `clean_spaces` passes when the vocabulary uses them. With `addsSpacePrefix` the first
    /// piece loses one leading space (the one tokenization added), unless a BOS was removed.
    /// - Parameters:
    ///   - removeSpecial: drop a leading BOS / trailing EOS if the vocabulary adds them.
    ///   - unparseSpecial: render control tokens as text.
    public func detokenizeBytes(_ tokens: [TokenID], removeSpecial: Bool = false,
                                unparseSpecial: Bool = false) -> [UInt8] {
        var slice = tokens[...]
        var removeSpace = addsSpacePrefix
        if removeSpecial && addsBOS, let first = slice.first, first == specialTokens.bos {
            slice = slice.dropFirst()
            removeSpace = false  // llama.cpp keeps the space when it removed BOS
        }
        if removeSpecial && addsEOS, let last = slice.last, last == specialTokens.eos { slice = slice.dropLast() }
        var text: [UInt8] = []
        for token in slice {
            // Only the very first token is stripped, even if it renders as nothing.
            text.append(contentsOf: piece(for: token, special: unparseSpecial, lstrip: removeSpace ? 1 : 0))
            removeSpace = false
        }
        return cleansSpaces ? BPETokenizer.cleanSpaces(text) : text
    }

    /// `detokenizeBytes` as a string; malformed UTF-8 becomes U+FFFD.
    public func detokenize(_ tokens: [TokenID], removeSpecial: Bool = false, unparseSpecial: Bool = false) -> String {
        String(decoding: detokenizeBytes(tokens, removeSpecial: removeSpecial, unparseSpecial: unparseSpecial),
               as: UTF8.self)
    }

    /// The piece of a token with special rendering on (the cache llama.cpp builds at load).
    static func renderPiece(_ text: [UInt8], _ attributes: TokenAttributes, model: TokenizerModel) -> [UInt8] {
        if !attributes.isDisjoint(with: [.unknown, .control, .userDefined]) { return text }
        if attributes.contains(.normal) {
            switch model {
            case .byteLevelBPE: return decodeByteLevel(text)
            case .sentencePiece: return unescapeSpaces(text)
            }
        }
        if attributes.contains(.byte) { return [byteTokenValue(text)] }
        return []
    }

    /// SentencePiece's "▁" back to spaces (llama.cpp `llama_unescape_whitespace`).
    static func unescapeSpaces(_ text: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            if index + 2 < text.count && text[index] == 0xE2 && text[index + 1] == 0x96 && text[index + 2] == 0x81 {
                result.append(UInt8(ascii: " "))
                index += 3
            } else {
                result.append(text[index])
                index += 1
            }
        }
        return result
    }

    /// Inverse of the byte-level alphabet; characters outside it are spelled out as llama.cpp
    /// does (`[UNK_BYTE_0x<hex>` + token text + `]`).
    static func decodeByteLevel(_ text: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(text.count)
        let codepoints = text.withUnsafeBufferPointer { LenientUTF8.decode($0) }
        for codepoint in codepoints {
            if let byte = ByteLevelAlphabet.byte(for: codepoint) {
                result.append(byte)
                continue
            }
            var utf8: [UInt8] = []
            if !LenientUTF8.append(codepoint, to: &utf8) { _ = LenientUTF8.append(LenientUTF8.replacement, to: &utf8) }
            result.append(contentsOf: Array("[UNK_BYTE_0x".utf8))
            for byte in utf8 {
                let hex = Array("0123456789abcdef".utf8)
                result.append(hex[Int(byte >> 4)])
                result.append(hex[Int(byte & 15)])
            }
            result.append(contentsOf: text)
            result.append(UInt8(ascii: "]"))
        }
        return result
    }

    /// Value of a byte token `<0xAB>` (llama.cpp reads the two characters after "<0x" with strtol).
    static func byteTokenValue(_ text: [UInt8]) -> UInt8 {
        var value: UInt8 = 0
        for character in text.dropFirst(3).prefix(2) {
            guard let digit = hexDigit(character) else { break }
            value = value &* 16 &+ digit
        }
        return value
    }

    private static func hexDigit(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return character - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// llama.cpp's `clean_spaces` post-processing: drop the space before ? ! . , ; remove the
    /// spaces around a lone apostrophe; drop the space before 's 'm 're 've.
    static func cleanSpaces(_ input: [UInt8]) -> [UInt8] {
        let space = UInt8(ascii: " "), quote = UInt8(ascii: "'")
        // pass 1: " ?", " !", " .", " ,"
        var text = input
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        for index in text.indices {
            let x = text[index]
            if index > 0 && text[index - 1] == space
                && (x == UInt8(ascii: "?") || x == UInt8(ascii: "!") || x == UInt8(ascii: ".") || x == UInt8(ascii: ",")) {
                out.removeLast()
            }
            out.append(x)
        }
        // pass 2: " ' " → "'"
        text = out
        out.removeAll(keepingCapacity: true)
        var index = 0
        while index < text.count {
            let x = text[index]
            if index > 0 && x == quote && index + 1 < text.count && text[index - 1] == space && text[index + 1] == space {
                out.removeLast()
                out.append(x)
                text[index + 1] = 0  // llama.cpp overwrites the skipped space in place
                index += 2
                continue
            }
            out.append(x)
            index += 1
        }
        // pass 3: " 's", " 'm", " 're", " 've"
        text = out
        out.removeAll(keepingCapacity: true)
        for index in text.indices {
            let x = text[index]
            if index > 0 && text[index - 1] == space && x == quote && index + 1 < text.count {
                let x1 = text[index + 1]
                if x1 == UInt8(ascii: "s") || x1 == UInt8(ascii: "m") {
                    out.removeLast()
                } else if x1 != UInt8(ascii: "t") && x1 != UInt8(ascii: "d") && index + 2 < text.count {
                    let x2 = text[index + 2]
                    if (x1 == UInt8(ascii: "r") && x2 == UInt8(ascii: "e")) || (x1 == UInt8(ascii: "v") && x2 == UInt8(ascii: "e")) {
                        out.removeLast()
                    }
                }
            }
            out.append(x)
        }
        return out
    }
}
