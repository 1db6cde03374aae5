/// Everything that can go wrong while decoding, resizing or slicing an image.
///
/// Each case says what was wrong and, where there is one, where (`source` is a file path or a
/// caller-supplied label such as "camera frame"), so a user can act on the message.
public enum ImagingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The data is empty (a zero-byte file or buffer).
    case empty(source: String)
    /// The leading bytes match no supported format (JPEG, PNG).
    case unsupportedFormat(source: String, leadingBytes: String)
    /// The decoder rejected the data; `reason` is the decoder's own message.
    case corrupt(source: String, format: String, reason: String)
    /// The data ends before the image does.
    case truncated(source: String, format: String, reason: String)
    /// The header declares a width or height of zero.
    case zeroSize(source: String, width: Int, height: Int)
    /// The header declares more pixels than the configured limit (decompression-bomb guard),
    /// checked before the pixel buffer is allocated.
    case tooManyPixels(source: String, width: Int, height: Int, limit: Int)
    /// A raw pixel buffer's length does not match width × height × channels.
    case bufferSizeMismatch(width: Int, height: Int, channels: Int, byteCount: Int)
    /// A size argument (resize target, crop rectangle, slicing parameter) is out of range.
    case invalidSize(operation: String, detail: String)
    /// The file could not be read.
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case let .empty(source):
            return "\(source): the image data is empty (0 bytes)"
        case let .unsupportedFormat(source, leading):
            return "\(source): not a JPEG or PNG image (leading bytes \(leading)); convert it to JPEG or PNG"
        case let .corrupt(source, format, reason):
            return "\(source): corrupt \(format) data: \(reason)"
        case let .truncated(source, format, reason):
            return "\(source): truncated \(format) (the data ends before the image does: \(reason)); re-copy or re-capture the file"
        case let .zeroSize(source, width, height):
            return "\(source): the image has zero size (\(width)×\(height))"
        case let .tooManyPixels(source, width, height, limit):
            return "\(source): \(width)×\(height) = \(width * height) pixels exceeds the limit of \(limit) pixels (decompression-bomb guard); downscale the image or raise maxPixelCount"
        case let .bufferSizeMismatch(width, height, channels, byteCount):
            return "raw pixel buffer of \(byteCount) bytes does not match \(width)×\(height)×\(channels) = \(width * height * channels) bytes"
        case let .invalidSize(operation, detail):
            return "\(operation): \(detail)"
        case let .unreadableFile(path, reason):
            return "\(path): cannot read the image file: \(reason)"
        }
    }
}
