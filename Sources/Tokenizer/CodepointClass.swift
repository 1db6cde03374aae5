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

    /// Class of every BMP code point, plus the ranges above it (binary-searched), built once from
    /// the generated table.
    private static let tables = buildTables()
    private static let basic: [UInt8] = tables.basic

    /// The class of `codepoint`; code points beyond U+10FFFF (possible from malformed 4-byte
    /// UTF-8) are "undefined" in llama.cpp: present, but neither letter, number nor space.
    @inline(__always)
    static func of(_ codepoint: UInt32) -> CodepointClass {
        if codepoint < 0x10000 { return CodepointClass(rawValue: basic[Int(codepoint)]) }
        if codepoint >= codepointLimit { return .present }
        return supplementary(codepoint)
    }

    private static func supplementary(_ codepoint: UInt32) -> CodepointClass {
        let starts = tables.supplementaryStarts
        var low = 0, high = starts.count  // find the last start <= codepoint
        while high - low > 1 {
            let middle = (low + high) / 2
            if starts[middle] <= codepoint { low = middle } else { high = middle }
        }
        var result = CodepointClass(rawValue: tables.supplementaryClasses[low])
        if tables.supplementaryWhitespace.contains(codepoint) { result.insert(.whitespace) }
        return result
    }

    private struct Tables: Sendable {
        var basic: [UInt8]
        var supplementaryStarts: [UInt32]
        var supplementaryClasses: [UInt8]
        var supplementaryWhitespace: Set<UInt32>
    }

    /// Parses the generated "START:FLAGS" list (hex, whitespace-separated) into range starts
    /// and classes.
    private static func parseRanges() -> (starts: [UInt32], classes: [UInt8]) {
        var starts: [UInt32] = []
        var classes: [UInt8] = []
        var current: UInt32 = 0
        var start: UInt32 = 0
        var readingFlags = false
        func finishItem() {
            guard readingFlags else { return }
            var result = CodepointClass.present
            if current & 0x04 != 0 { result.insert(.letter) }
            if current & 0x02 != 0 { result.insert(.number) }
            starts.append(start)
            classes.append(result.rawValue)
            readingFlags = false
            current = 0
        }
        for byte in UnicodeFlagsTable.ranges.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): current = current << 4 | UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "A")...UInt8(ascii: "F"): current = current << 4 | UInt32(byte - UInt8(ascii: "A") + 10)
            case UInt8(ascii: ":"): start = current; current = 0; readingFlags = true
            default: finishItem()
            }
        }
        finishItem()
        return (starts, classes)
    }

    private static func buildTables() -> Tables {
        let (starts, classes) = parseRanges()
        var basic = [UInt8](repeating: CodepointClass.present.rawValue, count: 0x10000)
        var supplementaryStarts: [UInt32] = [0x10000]
        var supplementaryClasses: [UInt8] = [CodepointClass.present.rawValue]
        for index in starts.indices {
            let end = index + 1 < starts.count ? starts[index + 1] : codepointLimit
            if starts[index] < 0x10000 {
                for codepoint in Int(starts[index])..<Int(min(end, 0x10000)) { basic[codepoint] = classes[index] }
            }
            if end > 0x10000 {
                let first = max(starts[index], 0x10000)
                if supplementaryStarts.last == first { supplementaryClasses[supplementaryClasses.count - 1] = classes[index] }
                else { supplementaryStarts.append(first); supplementaryClasses.append(classes[index]) }
            }
        }
        var supplementaryWhitespace = Set<UInt32>()
        for codepoint in UnicodeFlagsTable.whitespace {
            if codepoint < 0x10000 { basic[Int(codepoint)] |= CodepointClass.whitespace.rawValue }
            else { supplementaryWhitespace.insert(codepoint) }
        }
        return Tables(basic: basic, supplementaryStarts: supplementaryStarts,
                      supplementaryClasses: supplementaryClasses, supplementaryWhitespace: supplementaryWhitespace)
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
