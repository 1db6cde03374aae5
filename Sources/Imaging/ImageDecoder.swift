import Foundation

/// Decodes JPEG and PNG data into an `RGBImage` with the reference's conventions
/// (Pillow's `Image.open(...).convert("RGB")`, after `ImageOps.exif_transpose` for JPEG):
///
/// - JPEG (libjpeg-turbo, default ISLOW IDCT and fancy upsampling, as Pillow): baseline and
///   progressive; grayscale replicated to RGB; CMYK and YCCK converted with Pillow's
///   formula, Adobe-inverted when an Adobe marker is present; EXIF orientation applied.
///   A JPEG whose data ends early is an error (`.truncated`), not an image padded with grey;
///   other recoverable corrupt-data warnings are tolerated, as Pillow tolerates them.
/// - PNG (libpng): 1–16-bit gray, gray+alpha, palette (with or without tRNS), RGB, RGBA,
///   interlaced or not. Alpha is dropped (not composited), 16-bit samples keep their high
///   byte, 16-bit gray clips to 255 — each exactly what Pillow's `convert("RGB")` does.
///   No gamma or ICC correction (Pillow applies none either).
///
/// The format is sniffed from the leading bytes, never from a file name.
public enum ImageDecoder {
    /// Decodes an encoded image held in memory.
    /// - Parameters:
    ///   - data: the encoded bytes (`Data`, `[UInt8]`, …).
    ///   - source: a label for error messages (a path, "camera frame", …).
    /// - Throws: `ImagingError` — `.empty`, `.unsupportedFormat`, `.corrupt`, `.truncated`,
    ///   `.zeroSize`, `.tooManyPixels`.
    public static func decode(_ data: some ContiguousBytes, source: String = "image",
                              options: ImageDecodingOptions = ImageDecodingOptions()) throws -> RGBImage {
        try data.withUnsafeBytes { bytes in
            guard bytes.count > 0 else { throw ImagingError.empty(source: source) }
            switch ImageFormat.sniff(bytes) {
            case .jpeg:
                let image = try JPEGDecoder.decode(bytes, source: source, maxPixelCount: options.maxPixelCount)
                guard options.appliesEXIFOrientation, let orientation = EXIFOrientation.fromJPEG(bytes) else { return image }
                return orientation.apply(to: image)
            case .png:
                return try PNGDecoder.decode(bytes, source: source, maxPixelCount: options.maxPixelCount)
            case nil:
                let leading = bytes.prefix(8).map { String(format: "%02X", $0) }.joined(separator: " ")
                throw ImagingError.unsupportedFormat(source: source, leadingBytes: leading)
            }
        }
    }

    /// Reads and decodes the image file at `path`.
    /// - Throws: `ImagingError.unreadableFile` when the file cannot be read, otherwise as
    ///   `decode(_:source:options:)` with the path as source.
    public static func decodeFile(atPath path: String,
                                  options: ImageDecodingOptions = ImageDecodingOptions()) throws -> RGBImage {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw ImagingError.unreadableFile(path: path, reason: error.localizedDescription)
        }
        return try decode(data, source: path, options: options)
    }

    /// Checks a header's size against the zero-size rule and the pixel limit.
    static func checkSize(width: Int, height: Int, source: String, maxPixelCount: Int) throws {
        guard width > 0, height > 0 else { throw ImagingError.zeroSize(source: source, width: width, height: height) }
        let (count, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, count <= maxPixelCount else {
            throw ImagingError.tooManyPixels(source: source, width: width, height: height, limit: maxPixelCount)
        }
    }
}
