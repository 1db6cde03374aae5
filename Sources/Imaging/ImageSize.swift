/// A width × height pair in pixels.
public struct ImageSize: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int

    /// A size; no validation (APIs taking sizes check them).
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// "W×H".
    public var description: String { "\(width)×\(height)" }
}

extension RGBImage {
    /// The image's size.
    public var size: ImageSize { ImageSize(width: width, height: height) }
}
