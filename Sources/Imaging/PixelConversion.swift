/// Sample-layout conversions to interleaved RGB, with the reference's (Pillow's) arithmetic.
enum PixelConversion {
    /// Converts `count` pixels of `channels` samples (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA),
    /// starting at `src[from]`, to RGB at `dst[at]`. Alpha is dropped, not composited:
    /// Pillow's `convert("RGB")`, which the reference calls, does the same.
    static func toRGB(_ src: UnsafeBufferPointer<UInt8>, from: Int, channels: Int,
                      into dst: UnsafeMutableBufferPointer<UInt8>, at: Int, count: Int) {
        switch channels {
        case 1, 2:
            for i in 0..<count {
                let v = src[from + i * channels]
                dst[at + i * 3] = v; dst[at + i * 3 + 1] = v; dst[at + i * 3 + 2] = v
            }
        default:
            for i in 0..<count {
                dst[at + i * 3] = src[from + i * channels]
                dst[at + i * 3 + 1] = src[from + i * channels + 1]
                dst[at + i * 3 + 2] = src[from + i * channels + 2]
            }
        }
    }

    /// Converts a whole interleaved buffer of `channels` samples a pixel to RGB.
    static func toRGB(_ samples: [UInt8], channels: Int, pixelCount: Int) -> [UInt8] {
        if channels == 3 { return samples }
        var out = [UInt8](repeating: 0, count: pixelCount * 3)
        samples.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                toRGB(src, from: 0, channels: channels, into: dst, at: 0, count: pixelCount)
            }
        }
        return out
    }

    /// CMYK to RGB as Pillow's `cmyk2rgb`: with nk = 255 − K, each channel is
    /// nk − nk·C/255 using Pillow's rounded integer division by 255 (MULDIV255).
    /// `inverted` first undoes Adobe's inverted storage (Pillow's "CMYK;I" raw mode, which
    /// Pillow picks whenever the file has an Adobe APP14 marker).
    static func cmykToRGB(_ samples: [UInt8], inverted: Bool, pixelCount: Int) -> [UInt8] {
        @inline(__always) func mulDiv255(_ a: Int, _ b: Int) -> Int {
            let t = a * b + 128
            return ((t >> 8) + t) >> 8
        }
        let flip: UInt8 = inverted ? 255 : 0
        var out = [UInt8](repeating: 0, count: pixelCount * 3)
        samples.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<pixelCount {
                    let c = Int(src[i * 4] ^ flip), m = Int(src[i * 4 + 1] ^ flip)
                    let y = Int(src[i * 4 + 2] ^ flip), k = Int(src[i * 4 + 3] ^ flip)
                    let nk = 255 - k
                    dst[i * 3] = UInt8(clamping: nk - mulDiv255(c, nk))
                    dst[i * 3 + 1] = UInt8(clamping: nk - mulDiv255(m, nk))
                    dst[i * 3 + 2] = UInt8(clamping: nk - mulDiv255(y, nk))
                }
            }
        }
        return out
    }
}
