/// A width × height pair in pixels.
public struct ImageSize: Hashable, Sendable, Codable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public var description: String { "\(width)×\(height)" }
}

extension RGBImage {
    /// The image's size.
    public var size: ImageSize { ImageSize(width: width, height: height) }
}
