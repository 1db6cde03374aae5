/// Scalar reference dequantization of ggml tensor data to Float32.
///
/// This is the reference other kernels are tested against: plain code following the block layouts
/// of minicpmv-spec.md §4.3, computing each value with the same float operations in the same
/// order as gguf-py's `gguf.quants.dequantize` (and ggml's `dequantize_row_*`), so results are
/// bit-identical. Elements come out in ggml order (ne0 fastest).
public enum GGUFDequantize {
    /// Types this dequantizer handles.
    public static let supportedTypes: Set<GGMLType> = [
        .f32, .f16, .bf16, .f64, .i8, .i16, .i32, .i64,
        .q4_0, .q4_1, .q5_0, .q5_1, .q8_0,
        .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K,
        .iq4_NL, .iq4_XS, .mxfp4, .tq1_0, .tq2_0,
    ]

    /// Whether `type` can be dequantized.
    public static func isSupported(_ type: GGMLType) -> Bool { supportedTypes.contains(type) }

    /// Dequantizes a whole tensor of `file` into a new array.
    /// Throws ``GGUFError/unsupportedDequantization(tensor:type:)`` for other types.
    public static func dequantize(_ tensor: GGUFTensorInfo, of file: GGUFFile) throws -> [Float] {
        let source = file.bytes(of: tensor)
        return try [Float](unsafeUninitializedCapacity: tensor.elementCount) { output, initialized in
            try dequantize(source, type: tensor.type, into: output, tensor: tensor.name)
            initialized = tensor.elementCount
        }
    }

    /// Dequantizes rows `rows` of a tensor (a row is `shape[0]` elements, ggml order) into
    /// `output`, which must hold `rows.count · rowLength` values; e.g. embedding lookups.
    /// Throws ``GGUFError/unsupportedDequantization(tensor:type:)`` or
    /// ``GGUFError/dequantizationSizeMismatch(tensor:type:elements:bytes:)`` (also for rows out of range).
    public static func dequantizeRows(_ tensor: GGUFTensorInfo, of file: GGUFFile, rows: Range<Int>,
                                      into output: UnsafeMutableBufferPointer<Float>) throws {
        let rowBytes = tensor.type.byteCount(elements: tensor.rowLength) ?? 0
        guard rows.lowerBound >= 0, rows.upperBound <= tensor.rowCount,
              output.count == rows.count * tensor.rowLength else {
            throw GGUFError.dequantizationSizeMismatch(tensor: tensor.name, type: tensor.type, elements: output.count,
                                                       bytes: rows.count * rowBytes)
        }
        let all = file.bytes(of: tensor)
        let slice = UnsafeRawBufferPointer(rebasing: all[rows.lowerBound * rowBytes ..< rows.upperBound * rowBytes])
        try dequantize(slice, type: tensor.type, into: output, tensor: tensor.name)
    }

    /// IEEE fp16 bit pattern → Float, exactly (subnormals, infinities and NaN payloads kept).
    public static func float(fromHalfBits bits: UInt16) -> Float { HalfFloat.table[Int(bits)] }

    /// Dequantizes `output.count` elements of `type` from `source`, which must hold exactly
    /// that many (a whole number of blocks). `tensor` names the data in errors.
    /// Throws ``GGUFError/unsupportedDequantization(tensor:type:)`` or
    /// ``GGUFError/dequantizationSizeMismatch(tensor:type:elements:bytes:)``.
    public static func dequantize(_ source: UnsafeRawBufferPointer, type: GGMLType,
                                  into output: UnsafeMutableBufferPointer<Float>, tensor: String = "") throws {
        guard isSupported(type) else { throw GGUFError.unsupportedDequantization(tensor: tensor, type: type) }
        guard let needed = type.byteCount(elements: output.count), needed == source.count else {
            throw GGUFError.dequantizationSizeMismatch(tensor: tensor, type: type, elements: output.count,
                                                       bytes: source.count)
        }
        guard let src = source.baseAddress, let dst = output.baseAddress else { return }  // zero elements
        let blocks = output.count / type.blockSize
        let stride = type.bytesPerBlock
        let block = type.blockSize
        let half = HalfFloat.table
        func each(_ body: (UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void) {
            for b in 0 ..< blocks { body(src + b * stride, dst + b * block) }
        }
        switch type {
        case .f32:
            for i in 0 ..< output.count {
                dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        case .f16:
            for i in 0 ..< output.count { dst[i] = HalfFloat.load(src, 2 * i, half) }
        case .bf16:
            for i in 0 ..< output.count {
                let bits = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                dst[i] = Float(bitPattern: UInt32(bits) << 16)
            }
        case .f64:
            for i in 0 ..< output.count {
                dst[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        case .i8:
            for i in 0 ..< output.count { dst[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
        case .i16:
            for i in 0 ..< output.count {
                dst[i] = Float(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
            }
        case .i32:
            for i in 0 ..< output.count {
                dst[i] = Float(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
            }
        case .i64:
            for i in 0 ..< output.count {
                dst[i] = Float(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
            }
        case .q4_0: each { blockQ4_0($0, $1, half) }
        case .q4_1: each { blockQ4_1($0, $1, half) }
        case .q5_0: each { blockQ5_0($0, $1, half) }
        case .q5_1: each { blockQ5_1($0, $1, half) }
        case .q8_0: each { blockQ8_0($0, $1, half) }
        case .q2_K: each { blockQ2_K($0, $1, half) }
        case .q3_K: each { blockQ3_K($0, $1, half) }
        case .q4_K: each { blockQ4_K($0, $1, half) }
        case .q5_K: each { blockQ5_K($0, $1, half) }
        case .q6_K: each { blockQ6_K($0, $1, half) }
        case .q8_K: each { blockQ8_K($0, $1) }
        case .iq4_NL: each { blockIQ4_NL($0, $1, half) }
        case .iq4_XS: each { blockIQ4_XS($0, $1, half) }
        case .mxfp4: each { blockMXFP4($0, $1) }
        case .tq1_0: each { blockTQ1_0($0, $1, half) }
        case .tq2_0: each { blockTQ2_0($0, $1, half) }
        default:
            throw GGUFError.unsupportedDequantization(tensor: tensor, type: type)
        }
    }

    // MARK: blocks of 32

    @inline(__always) private static func u8(_ p: UnsafeRawPointer, _ i: Int) -> UInt8 {
        p.load(fromByteOffset: i, as: UInt8.self)
    }

    @inline(__always) private static func i8(_ p: UnsafeRawPointer, _ i: Int) -> Int8 {
        p.load(fromByteOffset: i, as: Int8.self)
    }

    /// `half d; u8 qs[16]`: y[j] = d·(lo(qs[j]) − 8), y[j+16] = d·(hi(qs[j]) − 8).
    static func blockQ4_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        let d = HalfFloat.load(p, 0, half)
        for j in 0 ..< 16 {
            let q = u8(p, 2 + j)
            y[j] = d * Float(Int(q & 0x0F) - 8)
            y[j + 16] = d * Float(Int(q >> 4) - 8)
        }
    }

    /// `half d; half m; u8 qs[16]`: y = d·q + m.
    static func blockQ4_1(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        let d = HalfFloat.load(p, 0, half)
        let m = HalfFloat.load(p, 2, half)
        for j in 0 ..< 16 {
            let q = u8(p, 4 + j)
            y[j] = d * Float(q & 0x0F) + m
            y[j + 16] = d * Float(q >> 4) + m
        }
    }

    /// `half d; u8 qh[4]; u8 qs[16]`: fifth bit j of little-endian qh; y = d·(q − 16).
    static func blockQ5_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        let d = HalfFloat.load(p, 0, half)
        let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        for j in 0 ..< 16 {
            let q = u8(p, 6 + j)
            let x0 = Int(q & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4
            let x1 = Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
            y[j] = d * Float(x0 - 16)
            y[j + 16] = d * Float(x1 - 16)
        }
    }

    /// `half d; half m; u8 qh[4]; u8 qs[16]`: y = d·q + m.
    static func blockQ5_1(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        let d = HalfFloat.load(p, 0, half)
        let m = HalfFloat.load(p, 2, half)
        let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        for j in 0 ..< 16 {
            let q = u8(p, 8 + j)
            let x0 = Int(q & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4
            let x1 = Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
            y[j] = d * Float(x0) + m
            y[j + 16] = d * Float(x1) + m
        }
    }

    /// `half d; i8 qs[32]`: y = d·q.
    static func blockQ8_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        let d = HalfFloat.load(p, 0, half)
        for j in 0 ..< 32 { y[j] = Float(i8(p, 2 + j)) * d }
    }

    /// IQ4_NL: `half d; u8 qs[16]`, nibbles index a fixed non-linear table.
    static let iq4Values: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

    static func blockIQ4_NL(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        let d = HalfFloat.load(p, 0, half)
        iq4Values.withUnsafeBufferPointer { kv in
            for j in 0 ..< 16 {
                let q = u8(p, 2 + j)
                y[j] = d * Float(kv[Int(q & 0x0F)])
                y[j + 16] = d * Float(kv[Int(q >> 4)])
            }
        }
    }

    /// MXFP4: `u8 e (E8M0); u8 qs[16]` of E2M1 values (doubled), scaled by 2^(e−128).
    static let mxfp4Values: [Int8] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]

    static func blockMXFP4(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let e = UInt32(u8(p, 0))
        // ggml_e8m0_to_fp32_half: 2^(e−127)/2, as a bit pattern (subnormal for e < 2).
        let d = Float(bitPattern: e < 2 ? UInt32(0x0020_0000) << e : (e - 1) << 23)
        mxfp4Values.withUnsafeBufferPointer { kv in
            for j in 0 ..< 16 {
                let q = u8(p, 1 + j)
                y[j] = d * Float(kv[Int(q & 0x0F)])
                y[j + 16] = d * Float(kv[Int(q >> 4)])
            }
        }
    }

    // MARK: super-blocks of 256

    /// `u8 scales[16]; u8 qs[64]; half d; half dmin`: 16 groups of 16, 2-bit quants,
    /// y = (d·(sc & 15))·q − dmin·(sc >> 4).
    static func blockQ2_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        let d = HalfFloat.load(p, 80, half)
        let dmin = HalfFloat.load(p, 82, half)
        // Element h·128 + s·32 + l takes bits 2s… of qs[h·32 + l]; every 16 elements share a scale.
        for h in 0 ..< 2 {
            for s in 0 ..< 4 {
                for g in 0 ..< 2 {
                    let sc = u8(p, h * 8 + s * 2 + g)
                    let dl = d * Float(sc & 0x0F)
                    let ml = dmin * Float(sc >> 4)
                    for l in g * 16 ..< g * 16 + 16 {
                        let q = (u8(p, 16 + h * 32 + l) >> UInt8(2 * s)) & 3
                        y[h * 128 + s * 32 + l] = dl * Float(q) - ml
                    }
                }
            }
        }
    }

    /// `u8 hmask[32]; u8 qs[64]; u8 scales[12]; half d`: 16 six-bit signed scales,
    /// 3-bit quants (2 low bits in qs, the third inverted in hmask), y = (d·(sc − 32))·q.
    static func blockQ3_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        let d = HalfFloat.load(p, 108, half)
        for h in 0 ..< 2 {
            for s in 0 ..< 4 {
                for g in 0 ..< 2 {
                    let i = h * 8 + s * 2 + g  // scale index = element / 16
                    let low = i < 8 ? u8(p, 96 + i) & 0x0F : u8(p, 96 + i - 8) >> 4
                    let high = (u8(p, 96 + 8 + i % 4) >> UInt8(2 * (i / 4))) & 3
                    let dl = d * Float(Int(low | high << 4) - 32)
                    for l in g * 16 ..< g * 16 + 16 {
                        let q2 = Int((u8(p, 32 + h * 32 + l) >> UInt8(2 * s)) & 3)
                        let bit = Int((u8(p, l) >> UInt8(h * 4 + s)) & 1)
                        y[h * 128 + s * 32 + l] = dl * Float(q2 - ((bit ^ 1) << 2))
                    }
                }
            }
        }
    }

    /// The 12-byte packing of eight 6-bit scales and mins (Q4_K, Q5_K): `get_scale_min_k4`.
    @inline(__always)
    static func scaleMin(_ s: UnsafeRawPointer, _ j: Int) -> (scale: UInt8, min: UInt8) {
        if j < 4 {
            return (u8(s, j) & 63, u8(s, j + 4) & 63)
        }
        return ((u8(s, j + 4) & 0x0F) | ((u8(s, j - 4) >> 6) << 4),
                (u8(s, j + 4) >> 4) | ((u8(s, j) >> 6) << 4))
    }

    /// `half d; half dmin; u8 scales[12]; u8 qs[128]`: 8 groups of 32, y = (d·sc)·q − dmin·m.
    static func blockQ4_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        let d = HalfFloat.load(p, 0, half)
        let dmin = HalfFloat.load(p, 2, half)
        // Chunk c of 64 elements: groups 2c (low nibbles) and 2c+1 (high nibbles) of qs[32c…32c+31].
        for c in 0 ..< 4 {
            let (scLow, mLow) = scaleMin(p + 4, 2 * c)
            let (scHigh, mHigh) = scaleMin(p + 4, 2 * c + 1)
            let dLow = d * Float(scLow), minLow = dmin * Float(mLow)
            let dHigh = d * Float(scHigh), minHigh = dmin * Float(mHigh)
            for l in 0 ..< 32 {
                let q = u8(p, 16 + c * 32 + l)
                y[c * 64 + l] = dLow * Float(q & 0x0F) - minLow
                y[c * 64 + 32 + l] = dHigh * Float(q >> 4) - minHigh
            }
        }
    }

    /// `half d; half dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]`: Q4_K plus a fifth bit from qh.
    static func blockQ5_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        let d = HalfFloat.load(p, 0, half)
        let dmin = HalfFloat.load(p, 2, half)
        for c in 0 ..< 4 {
            let (scLow, mLow) = scaleMin(p + 4, 2 * c)
            let (scHigh, mHigh) = scaleMin(p + 4, 2 * c + 1)
            let dLow = d * Float(scLow), minLow = dmin * Float(mLow)
            let dHigh = d * Float(scHigh), minHigh = dmin * Float(mHigh)
            let lowBit = UInt8(2 * c), highBit = UInt8(2 * c + 1)
            for l in 0 ..< 32 {
                let q = u8(p, 48 + c * 32 + l), h = u8(p, 16 + l)
                y[c * 64 + l] = dLow * Float((q & 0x0F) | ((h >> lowBit) & 1) << 4) - minLow
                y[c * 64 + 32 + l] = dHigh * Float((q >> 4) | ((h >> highBit) & 1) << 4) - minHigh
            }
        }
    }

    /// `u8 ql[128]; u8 qh[64]; i8 scales[16]; half d`: 6-bit quants, y = (d·sc)·(q − 32).
    static func blockQ6_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        let d = HalfFloat.load(p, 208, half)
        // Half h, quarter j: element h·128 + 32j + l takes nibble j/2 of ql[64h + 32(j%2) + l] and
        // bits 2j… of qh[32h + l]; scale index = element / 16.
        for h in 0 ..< 2 {
            for j in 0 ..< 4 {
                let ql = 64 * h + 32 * (j % 2), qh = 128 + 32 * h
                let lowShift = UInt8(4 * (j / 2)), highShift = UInt8(2 * j)
                for g in 0 ..< 2 {
                    let scale = d * Float(i8(p, 192 + 8 * h + 2 * j + g))
                    for l in 16 * g ..< 16 * g + 16 {
                        let q = ((u8(p, ql + l) >> lowShift) & 0x0F) | ((u8(p, qh + l) >> highShift) & 3) << 4
                        y[h * 128 + 32 * j + l] = scale * Float(Int(q) - 32)
                    }
                }
            }
        }
    }

    /// `f32 d; i8 qs[256]; i16 bsums[16]`: y = d·q.
    static func blockQ8_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
        for j in 0 ..< 256 { y[j] = d * Float(i8(p, 4 + j)) }
    }

    /// `half d; u16 scales_h; u8 scales_l[4]; u8 qs[128]`: 8 groups of 32 with 6-bit signed scales,
    /// nibbles index the IQ4_NL table.
    static func blockIQ4_XS(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        let d = HalfFloat.load(p, 0, half)
        let scalesHigh = UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        iq4Values.withUnsafeBufferPointer { kv in
            for g in 0 ..< 8 {
                let low = (u8(p, 4 + g / 2) >> UInt8(4 * (g % 2))) & 0x0F
                let high = UInt8((scalesHigh >> UInt16(2 * g)) & 3)
                let dl = d * Float(Int(low | high << 4) - 32)
                for k in 0 ..< 16 {
                    let q = u8(p, 8 + g * 16 + k)
                    y[g * 32 + k] = dl * Float(kv[Int(q & 0x0F)])
                    y[g * 32 + k + 16] = dl * Float(kv[Int(q >> 4)])
                }
            }
        }
    }

    /// TQ1_0: `u8 qs[48]; u8 qh[4]; half d`, ternary digits packed five (or four) per byte in
    /// base 3 as fixed-point fractions; y = d·(t − 1).
    static func blockTQ1_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        let d = HalfFloat.load(p, 52, half)
        let pow3: [UInt8] = [1, 3, 9, 27, 81]
        @inline(__always) func trit(_ byte: UInt8, _ power: Int) -> Float {
            let x = byte &* pow3[power]
            return Float(Int((UInt16(x) * 3) >> 8) - 1)
        }
        for n in 0 ..< 5 {
            for l in 0 ..< 32 { y[n * 32 + l] = d * trit(u8(p, l), n) }
        }
        for n in 0 ..< 5 {
            for l in 0 ..< 16 { y[160 + n * 16 + l] = d * trit(u8(p, 32 + l), n) }
        }
        for n in 0 ..< 4 {
            for l in 0 ..< 4 { y[240 + n * 4 + l] = d * trit(u8(p, 48 + l), n) }
        }
    }

    /// TQ2_0: `u8 qs[64]; half d`, 2-bit values; y = d·(q − 1).
    static func blockTQ2_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        let d = HalfFloat.load(p, 64, half)
        for h in 0 ..< 2 {
            for s in 0 ..< 4 {
                let shift = UInt8(2 * s)
                for l in 0 ..< 32 {
                    let q = Int((u8(p, h * 32 + l) >> shift) & 3) - 1
                    y[h * 128 + s * 32 + l] = d * Float(q)
                }
            }
        }
    }
}
