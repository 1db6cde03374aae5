/// A normalised image as the vision encoder takes it: planar float32 `[3][height][width]`
/// (the R plane, then G, then B; each plane row-major) — llama.cpp's ne = [W, H, 3] layout.
public struct PixelTensor: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// 3 × height × width values; `values[(c * height + y) * width + x]`.
    public let values: [Float]

    /// Normalises `image` as llama.cpp's `clip_image_f32` does, in float32:
    /// first v = Float(u8) / 255, then (v − mean[c]) / std[c].
    public init(_ image: RGBImage, normalization: PixelNormalization = .miniCPMV) {
        let plane = image.width * image.height
        let means = [normalization.mean.0, normalization.mean.1, normalization.mean.2]
        let stds = [normalization.std.0, normalization.std.1, normalization.std.2]
        var out = [Float](repeating: 0, count: 3 * plane)
        // One lookup table per channel: 256 values cover every input.
        let tables = (0..<3).map { c in (0..<256).map { (Float($0) / 255 - means[c]) / stds[c] } }
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<3 {
                    tables[c].withUnsafeBufferPointer { table in
                        for i in 0..<plane { dst[c * plane + i] = table[Int(src[i * 3 + c])] }
                    }
                }
            }
        }
        self.width = image.width
        self.height = image.height
        self.values = out
    }

    /// The value of channel `c` (0 R, 1 G, 2 B) at column `x`, row `y`.
    public subscript(c: Int, x: Int, y: Int) -> Float { values[(c * height + y) * width + x] }
}
