/// Turns a stream of byte chunks (token pieces) into text without ever splitting a multi-byte
/// character across two outputs: an incomplete sequence at the end of a chunk is held back until
/// the next chunk completes it. Malformed bytes become U+FFFD as soon as they are known to be
/// malformed; an incomplete sequence left at `finish()` becomes U+FFFD.
public struct StreamingUTF8Decoder: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// Adds bytes and returns all text that is now complete (possibly empty).
    public mutating func decode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        pending.append(contentsOf: bytes)
        let held = StreamingUTF8Decoder.incompleteSuffixLength(pending)
        let cut = pending.count - held
        if cut == 0 { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Returns what is left (U+FFFD for an unfinished sequence) and resets the decoder.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Whether bytes are being held back waiting for the rest of a character.
    public var hasPendingBytes: Bool { !pending.isEmpty }

    /// Length of the trailing bytes that form a proper prefix of a well-formed UTF-8 sequence
    /// (Unicode Table 3-7), i.e. that a later chunk may still complete.
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        let count = bytes.count
        for back in 1...min(3, max(count, 1)) where count >= back {
            let lead = bytes[count - back]
            if lead & 0xC0 == 0x80 { continue }  // continuation byte: look further back
            let needed: Int
            switch lead {
            case 0xC2...0xDF: needed = 2
            case 0xE0...0xEF: needed = 3
            case 0xF0...0xF4: needed = 4
            default: return 0
            }
            guard back < needed else { return 0 }
            if back >= 2 {
                let second = bytes[count - back + 1]
                let range: ClosedRange<UInt8>
                switch lead {
                case 0xE0: range = 0xA0...0xBF
                case 0xED: range = 0x80...0x9F
                case 0xF0: range = 0x90...0xBF
                case 0xF4: range = 0x80...0x8F
                default: range = 0x80...0xBF
                }
                guard range.contains(second) else { return 0 }
            }
            return back
        }
        return 0
    }
}

/// Streams the text of generated tokens: feed tokens one by one, get text that never ends in
/// the middle of a character. Pieces are rendered as by `BPETokenizer.piece(for:special:)`
/// (no `clean_spaces` pass, as in llama.cpp's streaming examples).
public struct StreamingDetokenizer: Sendable {
    private let tokenizer: BPETokenizer
    private let renderSpecial: Bool
    private var decoder = StreamingUTF8Decoder()

    /// - Parameter renderSpecial: render control tokens (e.g. `<|im_end|>`) as text.
    public init(tokenizer: BPETokenizer, renderSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
    }

    /// Adds one token; returns the text completed by it (possibly empty).
    public mutating func append(_ token: TokenID) -> String {
        decoder.decode(tokenizer.piece(for: token, special: renderSpecial))
    }

    /// Flushes held-back bytes (U+FFFD for an unfinished character).
    public mutating func finish() -> String { decoder.finish() }
}
