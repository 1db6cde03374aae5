/// The pixels MiniCPM-V's encoder sees for one image: the overview first, then the slices
/// row-major, each a separate encoder input.
public struct MiniCPMVSlicedImage: Sendable, Equatable {
    public var plan: MiniCPMVSlicePlan
    /// The whole image resized to `plan.overviewSize` (from the original).
    public var overview: RGBImage
    /// Crops of the refine image (itself resized from the original), row-major; empty when
    /// `plan.grid` is nil.
    public var slices: [RGBImage]

    /// Overview followed by the slices: the encoder's inputs in order.
    public var encoderInputs: [RGBImage] { [overview] + slices }
}

/// MiniCPM-V's adaptive visual encoding ("LLaVA-UHD" slicing, paper §3.2, spec §3.2–3.3):
/// chooses a grid of up to 9 slices whose aspect ratio best matches the image, an overview
/// of about 448² pixels, and a refine image the slices are cut from; every side a multiple
/// of 14.
///
/// `.reference` mode (default) reproduces the official Python processor bit for bit
/// (Pillow bicubic); `.llamaCpp` reproduces llama.cpp 0.3.36 for side-by-side checks.
public struct MiniCPMVSlicer: Sendable {
    public var configuration: MiniCPMVSlicingConfiguration

    public init(configuration: MiniCPMVSlicingConfiguration = MiniCPMVSlicingConfiguration()) {
        self.configuration = configuration
    }

    /// The sizes chosen for an image of `size` (pure arithmetic, no pixels).
    /// - Throws: `ImagingError.invalidSize` for a side < 1 or a configuration whose
    ///   resolution, patch size or slice count is < 1.
    public func plan(for size: ImageSize) throws -> MiniCPMVSlicePlan {
        let c = configuration
        guard size.width >= 1, size.height >= 1 else {
            throw ImagingError.invalidSize(operation: "MiniCPM-V slicing", detail: "image size \(size) must be at least 1×1")
        }
        guard c.scaleResolution >= 1, c.patchSize >= 1, c.maxSliceCount >= 1 else {
            throw ImagingError.invalidSize(operation: "MiniCPM-V slicing",
                                           detail: "configuration \(c.scaleResolution)/\(c.patchSize)/\(c.maxSliceCount) must be positive")
        }
        switch c.mode {
        case .reference:
            return ReferenceSliceGeometry(scale: c.scaleResolution, patch: c.patchSize, maxSlices: c.maxSliceCount).plan(for: size)
        case .llamaCpp:
            return LlamaCppSliceGeometry(scale: c.scaleResolution, patch: c.patchSize, maxSlices: c.maxSliceCount).plan(for: size)
        }
    }

    /// Resizes and crops `image` according to `plan(for:)`: overview and refine image are
    /// bicubic (Pillow-exact) resizes of the original; slices are exact crops of the refine
    /// image. In `.llamaCpp` mode the refine image is the aspect-fitted resize centred on black.
    /// - Throws: `ImagingError.invalidSize` as `plan(for:)`.
    public func slice(_ image: RGBImage) throws -> MiniCPMVSlicedImage {
        let plan = try plan(for: image.size)
        let overview = try image.resized(to: plan.overviewSize)
        guard let refineSize = plan.refineSize, let content = plan.refineContent else {
            return MiniCPMVSlicedImage(plan: plan, overview: overview, slices: [])
        }
        var refine = try image.resized(width: content.width, height: content.height)
        if content.width != refineSize.width || content.height != refineSize.height {
            refine = refine.padded(to: refineSize, at: content, fill: (0, 0, 0))
        }
        let slices = try plan.sliceRects.map { try refine.cropped(x: $0.x, y: $0.y, width: $0.width, height: $0.height) }
        return MiniCPMVSlicedImage(plan: plan, overview: overview, slices: slices)
    }
}

extension RGBImage {
    /// This image placed at `rect` (same size as the image) on a `size` canvas of `fill`.
    func padded(to size: ImageSize, at rect: PixelRect, fill: (UInt8, UInt8, UInt8)) -> RGBImage {
        var out = [UInt8](repeating: 0, count: size.width * size.height * 3)
        if fill != (0, 0, 0) {
            for i in 0..<(size.width * size.height) {
                out[i * 3] = fill.0; out[i * 3 + 1] = fill.1; out[i * 3 + 2] = fill.2
            }
        }
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for row in 0..<height {
                    let to = ((rect.y + row) * size.width + rect.x) * 3
                    _ = UnsafeMutableBufferPointer(rebasing: dst[to..<(to + width * 3)])
                        .update(fromContentsOf: src[(row * width * 3)..<((row + 1) * width * 3)])
                }
            }
        }
        return RGBImage(uncheckedWidth: size.width, height: size.height, pixels: out)
    }
}
