/// GPT-2's byte-level alphabet: every byte is written as one printable code point in
/// vocabulary texts (bytes 0x21-0x7E, 0xA1-0xAC, 0xAE-0xFF as themselves, the rest as
/// U+0100 upwards in byte order; space is "Ġ", newline "Ċ").
enum ByteLevelAlphabet {
    /// The code point standing for each byte.
    static let codepointForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// UTF-8 of the code point standing for each byte.
    static let encodedByte: [[UInt8]] = codepointForByte.map { codepoint in
        var bytes: [UInt8] = []
        _ = LenientUTF8.append(codepoint, to: &bytes)
        return bytes
    }

    /// The byte a code point stands for, or nil if it is not part of the alphabet.
    @inline(__always)
    static func byte(for codepoint: UInt32) -> UInt8? {
        if codepoint < 256 {
            let value = UInt8(codepoint)
            return codepointForByte[Int(value)] == codepoint ? value : nil
        }
        if codepoint < 256 + 68 { return inverseHigh[Int(codepoint - 256)] }
        return nil
    }

    /// Bytes mapped to U+0100 and above, indexed by code point - 256.
    private static let inverseHigh: [UInt8] = {
        var table: [UInt8] = []
        for byte in 0..<256 where codepointForByte[byte] >= 256 { table.append(UInt8(byte)) }
        return table
    }()
}
