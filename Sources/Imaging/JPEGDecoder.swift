import CJPEG

/// libjpeg-turbo decoding through the CJPEG shim (its setjmp error manager turns libjpeg's
/// fatal errors into return codes and notices the "premature end of data" warning).
enum JPEGDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, source: String, maxPixelCount: Int) throws -> RGBImage {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw ImagingError.empty(source: source)
        }
        var header = cjpeg_result()
        try check(cjpeg_read_header(base, bytes.count, &header), header, source: source)
        let width = Int(header.width), height = Int(header.height)
        try ImageDecoder.checkSize(width: width, height: height, source: source, maxPixelCount: maxPixelCount)

        let components = Int(header.components)
        var samples = [UInt8](repeating: 0, count: width * height * components)
        var result = cjpeg_result()
        let status = samples.withUnsafeMutableBufferPointer { out in
            cjpeg_decode(base, bytes.count, out.baseAddress, out.count, &result)
        }
        try check(status, result, source: source)
        let pixelCount = width * height
        let rgb: [UInt8]
        switch components {
        case 4: rgb = PixelConversion.cmykToRGB(samples, inverted: result.saw_adobe_marker != 0, pixelCount: pixelCount)
        default: rgb = PixelConversion.toRGB(samples, channels: components, pixelCount: pixelCount)
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: rgb)
    }

    private static func check(_ status: cjpeg_status, _ result: cjpeg_result, source: String) throws {
        switch status {
        case CJPEG_OK: return
        case CJPEG_TRUNCATED: throw ImagingError.truncated(source: source, format: "JPEG", reason: message(result))
        case CJPEG_ERROR where result.empty_image != 0:
            throw ImagingError.zeroSize(source: source, width: Int(result.width), height: Int(result.height))
        default: throw ImagingError.corrupt(source: source, format: "JPEG", reason: message(result))
        }
    }

    /// The shim's NUL-terminated message buffer as a String.
    private static func message(_ result: cjpeg_result) -> String {
        withUnsafeBytes(of: result.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return bytes.isEmpty ? "libjpeg reported an error" : String(decoding: bytes, as: UTF8.self)
        }
    }
}
