/// UTF-8 decoding and encoding with llama.cpp's leniency, so that malformed input tokenizes as
/// it does there: a byte that does not start a well-formed sequence becomes U+FFFD and decoding
/// resumes at the next byte; overlong forms and surrogates are accepted as they come.
enum LenientUTF8 {
    static let replacement: UInt32 = 0xFFFD

    /// Decodes `bytes` to code points (llama.cpp `unicode_cpts_from_utf8`).
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt32] {
        var result: [UInt32] = []
        result.reserveCapacity(bytes.count)
        var offset = 0
        let count = bytes.count
        @inline(__always) func isContinuation(_ index: Int) -> Bool {
            index < count && bytes[index] & 0xC0 == 0x80
        }
        while offset < count {
            let lead = bytes[offset]
            if lead & 0x80 == 0 {
                result.append(UInt32(lead)); offset += 1
            } else if lead & 0x40 == 0 {
                result.append(replacement); offset += 1
            } else if lead & 0x20 == 0 {
                if isContinuation(offset + 1) {
                    result.append(UInt32(lead & 0x1F) << 6 | UInt32(bytes[offset + 1] & 0x3F))
                    offset += 2
                } else { result.append(replacement); offset += 1 }
            } else if lead & 0x10 == 0 {
                if isContinuation(offset + 1) && isContinuation(offset + 2) {
                    result.append(UInt32(lead & 0x0F) << 12 | UInt32(bytes[offset + 1] & 0x3F) << 6
                                  | UInt32(bytes[offset + 2] & 0x3F))
                    offset += 3
                } else { result.append(replacement); offset += 1 }
            } else if lead & 0x08 == 0 {
                if isContinuation(offset + 1) && isContinuation(offset + 2) && isContinuation(offset + 3) {
                    result.append(UInt32(lead & 0x07) << 18 | UInt32(bytes[offset + 1] & 0x3F) << 12
                                  | UInt32(bytes[offset + 2] & 0x3F) << 6 | UInt32(bytes[offset + 3] & 0x3F))
                    offset += 4
                } else { result.append(replacement); offset += 1 }
            } else {
                result.append(replacement); offset += 1
            }
        }
        return result
    }

    /// Appends the UTF-8 form of `codepoint`; returns false for values above U+10FFFF, which
    /// llama.cpp rejects (it throws "invalid codepoint").
    @inline(__always)
    static func append(_ codepoint: UInt32, to output: inout [UInt8]) -> Bool {
        switch codepoint {
        case 0..<0x80:
            output.append(UInt8(codepoint))
        case 0x80..<0x800:
            output.append(0xC0 | UInt8(codepoint >> 6))
            output.append(0x80 | UInt8(codepoint & 0x3F))
        case 0x800..<0x10000:
            output.append(0xE0 | UInt8(codepoint >> 12))
            output.append(0x80 | UInt8((codepoint >> 6) & 0x3F))
            output.append(0x80 | UInt8(codepoint & 0x3F))
        case 0x10000..<0x110000:
            output.append(0xF0 | UInt8(codepoint >> 18))
            output.append(0x80 | UInt8((codepoint >> 12) & 0x3F))
            output.append(0x80 | UInt8((codepoint >> 6) & 0x3F))
            output.append(0x80 | UInt8(codepoint & 0x3F))
        default:
            return false
        }
        return true
    }
}
