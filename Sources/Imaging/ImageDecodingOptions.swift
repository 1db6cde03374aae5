/// Settings for `ImageDecoder`.
public struct ImageDecodingOptions: Sendable, Equatable {
    /// Largest accepted width × height, checked from the header before the pixel buffer is
    /// allocated (decompression-bomb guard). The default is Pillow's `MAX_IMAGE_PIXELS`
    /// (89,478,485 ≈ 9459×9459), about 268 MB of RGB.
    public var maxPixelCount: Int
    /// Turn JPEGs upright according to their EXIF orientation tag, as
    /// `ImageOps.exif_transpose` does. Default true.
    public var appliesEXIFOrientation: Bool

    public init(maxPixelCount: Int = 89_478_485, appliesEXIFOrientation: Bool = true) {
        self.maxPixelCount = maxPixelCount
        self.appliesEXIFOrientation = appliesEXIFOrientation
    }
}
