/// Separable resampling bit-identical to Pillow's `Image.resize(size, filter)` on 8-bit RGB.
///
/// Pillow's method: for each output coordinate the kernel is centred at
/// (x + 0.5)·in/out in source space; when downscaling its support is widened by in/out (an
/// antialiasing low-pass); taps run from trunc(centre − support + 0.5) to
/// trunc(centre + support + 0.5), clipped to the image; weights are normalised to sum 1, then
/// quantised to 22-bit fixed point (round half away from zero). Rows are resampled first
/// (horizontal pass) into an 8-bit intermediate, then columns (vertical pass); each sum
/// starts at 2^21 (rounding), is shifted right by 22 and clamped to 0…255. A pass whose size
/// does not change is skipped, as in Pillow.
enum ImageResampler {
    static let precisionBits = 32 - 8 - 2

    /// Per-output-pixel taps: the first source index, the tap count, and `kernelSize`
    /// fixed-point weights per output pixel (unused ones zero).
    struct Coefficients {
        var kernelSize: Int
        var first: [Int]
        var count: [Int]
        var weights: [Int32]
    }

    static func coefficients(inSize: Int, outSize: Int, filter: ResampleFilter) -> Coefficients {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = filter.support * filterScale
        let kernelSize = Int(support.rounded(.up)) * 2 + 1
        var first = [Int](repeating: 0, count: outSize)
        var count = [Int](repeating: 0, count: outSize)
        var weights = [Int32](repeating: 0, count: outSize * kernelSize)
        var taps = [Double](repeating: 0, count: kernelSize)
        let inverseScale = 1.0 / filterScale
        let one = Double(1 << precisionBits)
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            // Int(_:) truncates toward zero like C's (int) cast.
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), inSize) - xmin
            var sum = 0.0
            for x in 0..<max(xmax, 0) {
                let w = filter.weight((Double(x + xmin) - center + 0.5) * inverseScale)
                taps[x] = w
                sum += w
            }
            for x in 0..<max(xmax, 0) {
                var w = taps[x]
                if sum != 0.0 { w /= sum }
                weights[xx * kernelSize + x] = Int32(w < 0 ? -0.5 + w * one : 0.5 + w * one)
            }
            first[xx] = xmin
            count[xx] = max(xmax, 0)
        }
        return Coefficients(kernelSize: kernelSize, first: first, count: count, weights: weights)
    }

    @inline(__always) static func clip8(_ sum: Int32) -> UInt8 {
        let v = sum >> Int32(precisionBits)   // arithmetic shift, like C on int
        return v < 0 ? 0 : (v > 255 ? 255 : UInt8(truncatingIfNeeded: v))
    }

    /// Resamples every row of `src` (width `inWidth`, `rows` rows) to `c.first.count` pixels.
    static func horizontal(_ src: [UInt8], inWidth: Int, rows: Int, _ c: Coefficients) -> [UInt8] {
        let outWidth = c.first.count
        let kernelSize = c.kernelSize
        var out = [UInt8](repeating: 0, count: outWidth * rows * 3)
        let half = Int32(1 << (precisionBits - 1))
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                c.weights.withUnsafeBufferPointer { k in
                    c.first.withUnsafeBufferPointer { first in
                        c.count.withUnsafeBufferPointer { count in
                            guard let rawBase = UnsafeRawPointer(s.baseAddress), let kernelBase = k.baseAddress else { return }
                            let shifts = SIMD4<UInt32>(0, 8, 16, 24)
                            for y in 0..<rows {
                                let rowIn = y * inWidth * 3
                                let rowOut = y * outWidth * 3
                                // Each tap loads 4 bytes (R, G, B and the next pixel's R, whose
                                // lane is ignored); the image's last pixel has no 4th byte, so
                                // the last row takes the scalar path.
                                let vectorised = y < rows - 1
                                for xx in 0..<outWidth {
                                    var p = rowIn + first[xx] * 3
                                    let kBase = xx * kernelSize
                                    let r0, r1, r2: UInt8
                                    if vectorised {
                                        var acc = SIMD4<Int32>(repeating: half)
                                        var tap = rawBase + p
                                        var weight = kernelBase + kBase
                                        for _ in 0..<count[xx] {
                                            let word = UInt32(littleEndian: tap.loadUnaligned(as: UInt32.self))
                                            let lanes = (SIMD4<UInt32>(repeating: word) &>> shifts) & 0xFF
                                            acc &+= unsafeBitCast(lanes, to: SIMD4<Int32>.self) &* SIMD4<Int32>(repeating: weight.pointee)
                                            tap += 3
                                            weight += 1
                                        }
                                        (r0, r1, r2) = (clip8(acc[0]), clip8(acc[1]), clip8(acc[2]))
                                    } else {
                                        var s0 = half, s1 = half, s2 = half
                                        for x in 0..<count[xx] {
                                            let w = k[kBase + x]
                                            s0 &+= Int32(s[p]) &* w
                                            s1 &+= Int32(s[p + 1]) &* w
                                            s2 &+= Int32(s[p + 2]) &* w
                                            p += 3
                                        }
                                        (r0, r1, r2) = (clip8(s0), clip8(s1), clip8(s2))
                                    }
                                    d[rowOut + xx * 3] = r0
                                    d[rowOut + xx * 3 + 1] = r1
                                    d[rowOut + xx * 3 + 2] = r2
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Resamples the columns of `src` (`width` pixels wide) to `c.first.count` rows.
    static func vertical(_ src: [UInt8], width: Int, _ c: Coefficients) -> [UInt8] {
        let outHeight = c.first.count
        let rowElements = width * 3
        var out = [UInt8](repeating: 0, count: rowElements * outHeight)
        var accumulator = [Int32](repeating: 0, count: rowElements)
        let half = Int32(1 << (precisionBits - 1))
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                accumulator.withUnsafeMutableBufferPointer { a in
                    guard let source = s.baseAddress, let dest = d.baseAddress, let acc = a.baseAddress else { return }
                    for yy in 0..<outHeight {
                        a.update(repeating: half)
                        for y in 0..<c.count[yy] {
                            let w = c.weights[yy * c.kernelSize + y]
                            let row = source + (c.first[yy] + y) * rowElements
                            // Whole rows at once: contiguous and vectorisable (raw pointers and
                            // wrapping arithmetic keep bounds and overflow checks out of the loop).
                            for i in 0..<rowElements { acc[i] &+= Int32(truncatingIfNeeded: row[i]) &* w }
                        }
                        let rowOut = dest + yy * rowElements
                        for i in 0..<rowElements {
                            let v = acc[i] &>> Int32(precisionBits)
                            rowOut[i] = UInt8(truncatingIfNeeded: max(0, min(255, v)))
                        }
                    }
                }
            }
        }
        return out
    }
}

extension RGBImage {
    /// This image resampled to `width`×`height` exactly as Pillow's
    /// `Image.resize((width, height), filter)` (bicubic by default) — bit for bit.
    /// Returns a copy when the size is unchanged.
    /// - Throws: `ImagingError.invalidSize` when a target side is < 1.
    public func resized(width: Int, height: Int, filter: ResampleFilter = .bicubic) throws -> RGBImage {
        guard width >= 1, height >= 1 else {
            throw ImagingError.invalidSize(operation: "resize", detail: "target \(width)×\(height) must be at least 1×1")
        }
        var pixels = self.pixels
        if width != self.width {
            let c = ImageResampler.coefficients(inSize: self.width, outSize: width, filter: filter)
            pixels = ImageResampler.horizontal(pixels, inWidth: self.width, rows: self.height, c)
        }
        if height != self.height {
            let c = ImageResampler.coefficients(inSize: self.height, outSize: height, filter: filter)
            pixels = ImageResampler.vertical(pixels, width: width, c)
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: pixels)
    }

    /// Same as `resized(width:height:filter:)` with an `ImageSize`.
    public func resized(to size: ImageSize, filter: ResampleFilter = .bicubic) throws -> RGBImage {
        try resized(width: size.width, height: size.height, filter: filter)
    }
}
