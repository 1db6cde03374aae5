/// Per-channel normalisation constants: x = (u8 / 255 − mean[c]) / std[c].
/// MiniCPM-V uses 0.5 / 0.5; read `clip.vision.image_mean` / `image_std` from the mmproj.
public struct PixelNormalization: Sendable, Equatable {
    /// Per-channel means (R, G, B), subtracted after scaling to 0…1.
    public let mean: (Float, Float, Float)
    /// Per-channel standard deviations (R, G, B), all positive.
    public let std: (Float, Float, Float)

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

    /// Equal when every mean and std is equal.
    public static func == (a: PixelNormalization, b: PixelNormalization) -> Bool {
        a.mean == b.mean && a.std == b.std
    }
}
