/// Bounds-checked little-endian reads from a byte buffer, for parsing GGUF headers.
///
/// Every read checks the remaining length first and throws ``GGUFError/truncated`` naming what
/// was being read; nothing here can trap on malformed input.
struct GGUFByteReader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    private(set) var position: Int = 0

    init(bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    var remaining: Int { bytes.count - position }

    /// llama.cpp's `GGUF_MAX_STRING_LENGTH`.
    static let maxStringLength: UInt64 = 1 << 30

    mutating func require(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count >= 0, count <= remaining else {
            throw GGUFError.truncated(file: file, what: what(), offset: position, needed: count, available: remaining)
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try require(MemoryLayout<T>.size, what())
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += MemoryLayout<T>.size
        return value
    }

    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let start = position
        let length = try read(UInt64.self, what())
        guard length <= Self.maxStringLength, length <= UInt64(remaining) else {
            throw GGUFError.stringTooLong(file: file, what: what(), length: length, offset: start)
        }
        let count = Int(length)
        let string = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position ..< position + count]),
                            as: UTF8.self)
        position += count
        return string
    }

    /// Raw length of the string at the current position, without decoding (for name checks).
    func peekStringLength() -> UInt64? {
        guard remaining >= 8 else { return nil }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
    }

    /// Reads `count` fixed-size values, checking first that they fit in the rest of the buffer.
    mutating func readArray<T>(_ count: Int, _ what: @autoclosure () -> String,
                               _ element: (inout GGUFByteReader) throws -> T) throws -> [T] {
        var result = [T]()
        result.reserveCapacity(count)
        for _ in 0 ..< count {
            result.append(try element(&self))
        }
        return result
    }
}
