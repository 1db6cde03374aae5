/// An 8-bit RGB image: `height` rows of `width` pixels, each pixel three bytes R, G, B,
/// rows top to bottom with no padding (`pixels.count == width * height * 3`).
///
/// This is the currency of the vision path: decoders produce it, `resized(to:filter:)` and
/// `cropped(x:y:width:height:)` transform it, `MiniCPMVSlicer` slices it and
/// `PixelTensor` normalises it for the encoder.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels (≥ 1).
    public let width: Int
    /// Height in pixels (≥ 1).
    public let height: Int
    /// Interleaved RGB bytes, row-major.
    public let pixels: [UInt8]

    /// Wraps interleaved RGB bytes (the camera path).
    /// - Throws: `ImagingError.invalidSize` when a side is < 1, `.bufferSizeMismatch` when
    ///   `pixels.count != width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width >= 1, height >= 1 else {
            throw ImagingError.invalidSize(operation: "RGBImage", detail: "size \(width)×\(height) must be at least 1×1")
        }
        guard pixels.count == width * height * 3 else {
            throw ImagingError.bufferSizeMismatch(width: width, height: height, channels: 3, byteCount: pixels.count)
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Builds an image from a raw buffer of another layout (the camera path): `channels` is
    /// 1 (gray, replicated to RGB), 3 (RGB) or 4 (RGBA or RGBX; the fourth byte is dropped,
    /// as Pillow's `convert("RGB")` does). `rowStride` defaults to `width * channels`.
    /// - Throws: `ImagingError.invalidSize` for a bad size or channel count,
    ///   `.bufferSizeMismatch` when the buffer is too short for the layout.
    public init(width: Int, height: Int, channels: Int, rowStride: Int? = nil, bytes: some Collection<UInt8>) throws {
        guard width >= 1, height >= 1 else {
            throw ImagingError.invalidSize(operation: "RGBImage", detail: "size \(width)×\(height) must be at least 1×1")
        }
        guard [1, 3, 4].contains(channels) else {
            throw ImagingError.invalidSize(operation: "RGBImage", detail: "\(channels) channels; expected 1, 3 or 4")
        }
        let stride = rowStride ?? width * channels
        guard stride >= width * channels, bytes.count >= stride * (height - 1) + width * channels else {
            throw ImagingError.bufferSizeMismatch(width: width, height: height, channels: channels, byteCount: bytes.count)
        }
        let source = Array(bytes)
        var out = [UInt8](repeating: 0, count: width * height * 3)
        source.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    PixelConversion.toRGB(src, from: y * stride, channels: channels,
                                          into: dst, at: y * width * 3, count: width)
                }
            }
        }
        self.width = width
        self.height = height
        self.pixels = out
    }

    /// Internal initializer for producers that already guarantee the invariant.
    init(uncheckedWidth width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGBImage invariant")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixel at column `x`, row `y` (both 0-based).
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// The `width`×`height` rectangle whose top-left corner is (`x`, `y`), copied exactly.
    /// - Throws: `ImagingError.invalidSize` when the rectangle is empty or leaves the image.
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) throws -> RGBImage {
        guard w >= 1, h >= 1, x >= 0, y >= 0, x + w <= width, y + h <= height else {
            throw ImagingError.invalidSize(operation: "crop",
                                           detail: "rectangle x=\(x) y=\(y) \(w)×\(h) is empty or outside the \(width)×\(height) image")
        }
        var out = [UInt8](repeating: 0, count: w * h * 3)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for row in 0..<h {
                    let from = ((y + row) * width + x) * 3
                    let to = row * w * 3
                    _ = UnsafeMutableBufferPointer(rebasing: dst[to..<(to + w * 3)])
                        .update(fromContentsOf: src[from..<(from + w * 3)])
                }
            }
        }
        return RGBImage(uncheckedWidth: w, height: h, pixels: out)
    }
}
