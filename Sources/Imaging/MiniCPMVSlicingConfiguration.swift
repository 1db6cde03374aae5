/// Which slicing behaviour `MiniCPMVSlicer` reproduces.
public enum MiniCPMVSlicingMode: String, Sendable, CaseIterable {
    /// The official MiniCPM-V processor (minicpmv-spec.md §3.2): slices when
    /// ceil(W·H/448²) > 1, aspect-preserving upscale otherwise, Python rounding
    /// (round-half-even on doubles, `int()` truncation), Pillow bicubic everywhere, the refine
    /// image stretched to its size. The default.
    case reference
    /// llama.cpp as vendored in llama-cpp-python 0.3.36 (`tools/mtmd/mtmd-image.cpp`,
    /// spec §3.3): slices when W > 448 or H > 448, otherwise stretches to 448×448; float32
    /// arithmetic with `std::round` (half away from zero); Pillow-compatible bicubic for the
    /// overview and refine image (that version's defaults); the refine image aspect-fitted
    /// (ceil) and centre-padded with black (PAD_CEIL) instead of stretched.
    case llamaCpp
}

/// Parameters of MiniCPM-V's adaptive slicing (spec §3.1).
public struct MiniCPMVSlicingConfiguration: Sendable, Equatable {
    /// Side of the square the ViT is trained on: `scale_resolution` (448, the mmproj's
    /// `clip.vision.image_size`).
    public var scaleResolution: Int
    /// ViT patch size (14): every output side is a multiple of it.
    public var patchSize: Int
    /// Most slices per image (9).
    public var maxSliceCount: Int
    public var mode: MiniCPMVSlicingMode

    public init(scaleResolution: Int = 448, patchSize: Int = 14, maxSliceCount: Int = 9,
                mode: MiniCPMVSlicingMode = .reference) {
        self.scaleResolution = scaleResolution
        self.patchSize = patchSize
        self.maxSliceCount = maxSliceCount
        self.mode = mode
    }
}
