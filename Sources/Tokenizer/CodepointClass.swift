/// The classes of a code point that llama.cpp's BPE pre-tokenizers look at, taken from
/// llama.cpp's own Unicode table (`UnicodeFlagsTable`), not from Swift's Unicode data, so that
/// text splits exactly as in llama.cpp even where the two Unicode versions disagree.
struct CodepointClass: OptionSet, Sendable {
    let rawValue: UInt8

    static let letter = CodepointClass(rawValue: 1 << 0)      // \p{L}
    static let number = CodepointClass(rawValue: 1 << 1)      // \p{N}
    static let whitespace = CodepointClass(rawValue: 1 << 2)  // llama.cpp's \s
    /// Set for every code point; absent only for "no code point" (outside the fragment), which
    /// llama.cpp's splitters test through `flags.as_uint() != 0`.
    static let present = CodepointClass(rawValue: 1 << 3)

    /// Largest code point + 1 that the table covers (llama.cpp's MAX_CODEPOINTS).
    static let codepointLimit: UInt32 = 0x110000

    /// Class of every code point below `codepointLimit`, built once from the generated table.
    private static let table: [UInt8] = buildTable()

    /// The class of `codepoint`; code points beyond U+10FFFF (possible from malformed 4-byte
    /// UTF-8) are "undefined" in llama.cpp: present, but neither letter, number nor space.
    @inline(__always)
    static func of(_ codepoint: UInt32) -> CodepointClass {
        codepoint < codepointLimit
            ? CodepointClass(rawValue: table[Int(codepoint)]) : .present
    }

    private static func buildTable() -> [UInt8] {
        var table = [UInt8](repeating: CodepointClass.present.rawValue, count: Int(codepointLimit))
        var starts: [UInt32] = []
        var categories: [UInt8] = []
        for item in UnicodeFlagsTable.ranges.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = item.split(separator: ":")
            guard parts.count == 2, let start = UInt32(parts[0], radix: 16),
                  let flags = UInt8(parts[1], radix: 16) else { continue }
            starts.append(start)
            categories.append(flags)
        }
        for index in starts.indices {
            let end = index + 1 < starts.count ? starts[index + 1] : codepointLimit
            var value = CodepointClass.present
            if categories[index] & 0x04 != 0 { value.insert(.letter) }
            if categories[index] & 0x02 != 0 { value.insert(.number) }
            for codepoint in Int(starts[index])..<Int(end) { table[codepoint] = value.rawValue }
        }
        for codepoint in UnicodeFlagsTable.whitespace {
            table[Int(codepoint)] |= CodepointClass.whitespace.rawValue
        }
        return table
    }

    /// llama.cpp's `unicode_tolower`, restricted to results in a-z (all the contraction rule needs).
    static func asciiLowercase(_ codepoint: UInt32) -> UInt32 {
        if codepoint >= 0x41 && codepoint <= 0x5A { return codepoint + 0x20 }
        if codepoint < 0x80 { return codepoint }
        for (upper, lower) in UnicodeFlagsTable.asciiLowercase where upper == codepoint {
            return UInt32(lower)
        }
        return codepoint
    }
}
