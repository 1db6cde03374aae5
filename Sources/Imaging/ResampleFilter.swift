/// Interpolation kernels, with Pillow's definitions (`libImaging/Resample.c`).
public enum ResampleFilter: Sendable, CaseIterable {
    /// Pillow's `Image.Resampling.BICUBIC`: cubic convolution with a = −0.5, support 2.
    /// The reference MiniCPM-V processor uses it for every resize, and llama.cpp 0.3.36
    /// (llama-cpp-python's vendored copy) uses the same Pillow-compatible kernel.
    case bicubic
    /// Pillow's `Image.Resampling.BILINEAR`: the triangle kernel, support 1.
    case bilinear

    /// Half-width of the kernel in source pixels before widening for downscaling.
    var support: Double {
        switch self {
        case .bicubic: return 2.0
        case .bilinear: return 1.0
        }
    }

    /// The kernel's weight at distance `x` (in source pixels at scale 1).
    func weight(_ x: Double) -> Double {
        let x = x < 0 ? -x : x
        switch self {
        case .bicubic:
            let a = -0.5
            if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
            if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0.0
        case .bilinear:
            return x < 1.0 ? 1.0 - x : 0.0
        }
    }
}
