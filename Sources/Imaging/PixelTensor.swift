/// Per-channel normalisation constants: x = (u8 / 255 − mean[c]) / std[c].
/// MiniCPM-V uses 0.5 / 0.5; read `clip.vision.image_mean` / `image_std` from the mmproj.
public struct PixelNormalization: Sendable, Equatable {
    public var mean: (Float, Float, Float)
    public var std: (Float, Float, Float)

    /// - Throws: `ImagingError.invalidSize` when a standard deviation is not a positive finite number.
    public init(mean: (Float, Float, Float) = (0.5, 0.5, 0.5), std: (Float, Float, Float) = (0.5, 0.5, 0.5)) throws {
        for s in [std.0, std.1, std.2] where !(s > 0 && s.isFinite) {
            throw ImagingError.invalidSize(operation: "pixel normalisation", detail: "std \(std) must be positive")
        }
        self.mean = mean
        self.std = std
    }

    /// mean = std = 0.5 (x = u8/127.5 − 1 up to float rounding), MiniCPM-V's values.
    public static let miniCPMV = PixelNormalization(unchecked: (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))

    private init(unchecked mean: (Float, Float, Float), _ std: (Float, Float, Float)) {
        self.mean = mean
        self.std = std
    }

    /// Builds from arrays of three values as stored in GGUF metadata.
    /// - Throws: `ImagingError.invalidSize` unless both arrays have exactly 3 values and std > 0.
    public init(mean: [Float], std: [Float]) throws {
        guard mean.count == 3, std.count == 3 else {
            throw ImagingError.invalidSize(operation: "pixel normalisation",
                                           detail: "mean \(mean) and std \(std) must have 3 values each")
        }
        try self.init(mean: (mean[0], mean[1], mean[2]), std: (std[0], std[1], std[2]))
    }

    public static func == (a: PixelNormalization, b: PixelNormalization) -> Bool {
        a.mean == b.mean && a.std == b.std
    }
}

/// A normalised image as the vision encoder takes it: planar float32 `[3][height][width]`
/// (the R plane, then G, then B; each plane row-major) — llama.cpp's ne = [W, H, 3] layout.
public struct PixelTensor: Sendable, Equatable {
    public let width: Int
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
