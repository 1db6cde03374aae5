/// IEEE 754 binary16 → binary32 conversion without hardware support.
///
/// The GGUF target is built for the baseline ISA (no F16C), where `Float(Float16)` is a library
/// call; a 64K-entry table (256 KiB, built once on first use) is exact and fast.
enum HalfFloat {
    /// Exact conversion of the fp16 bit pattern `h` (subnormals, infinities, NaN payloads kept).
    static func convert(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int(h >> 10) & 0x1F
        var mantissa = UInt32(h & 0x03FF)
        if exponent == 0x1F {  // infinity or NaN: widen the payload
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            // Subnormal: normalise.
            var e = -1
            repeat {
                mantissa <<= 1
                e += 1
            } while mantissa & 0x0400 == 0
            mantissa &= 0x03FF
            return Float(bitPattern: sign | UInt32(127 - 15 - e) << 23 | (mantissa << 13))
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }

    /// `table[h]` = `convert(h)` for every bit pattern.
    nonisolated(unsafe) static let table: UnsafePointer<Float> = {
        let table = UnsafeMutablePointer<Float>.allocate(capacity: 1 << 16)
        for h in 0 ..< (1 << 16) { table[h] = convert(UInt16(h)) }
        return UnsafePointer(table)
    }()

    /// Table lookup of the little-endian fp16 at `pointer + offset`.
    @inline(__always)
    static func load(_ pointer: UnsafeRawPointer, _ offset: Int, _ table: UnsafePointer<Float>) -> Float {
        table[Int(UInt16(littleEndian: pointer.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))]
    }
}
