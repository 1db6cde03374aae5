import CPNG

/// libpng decoding through the CPNG shim (classic API behind setjmp; see cpng_shim.h for the
/// sample transforms, chosen to equal Pillow's `convert("RGB")`).
enum PNGDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, source: String, maxPixelCount: Int) throws -> RGBImage {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw ImagingError.empty(source: source)
        }
        // libpng rejects a zero width or height as a generic IHDR error; name it precisely.
        if bytes.count >= 24, bytes[12] == 0x49, bytes[13] == 0x48, bytes[14] == 0x44, bytes[15] == 0x52 {
            let w = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }
            let h = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
            if w == 0 || h == 0 { throw ImagingError.zeroSize(source: source, width: w, height: h) }
        }
        var header = cpng_result()
        try check(cpng_read_header(base, bytes.count, &header), header, source: source)
        let width = Int(header.width), height = Int(header.height)
        try ImageDecoder.checkSize(width: width, height: height, source: source, maxPixelCount: maxPixelCount)

        let channels = Int(header.channels)
        var samples = [UInt8](repeating: 0, count: width * height * channels)
        var result = cpng_result()
        let status = samples.withUnsafeMutableBufferPointer { out in
            cpng_decode(base, bytes.count, out.baseAddress, out.count, &result)
        }
        try check(status, result, source: source)
        return RGBImage(uncheckedWidth: width, height: height,
                        pixels: PixelConversion.toRGB(samples, channels: channels, pixelCount: width * height))
    }

    private static func check(_ status: cpng_status, _ result: cpng_result, source: String) throws {
        switch status {
        case CPNG_OK: return
        case CPNG_TRUNCATED: throw ImagingError.truncated(source: source, format: "PNG", reason: message(result))
        default: throw ImagingError.corrupt(source: source, format: "PNG", reason: message(result))
        }
    }

    private static func message(_ result: cpng_result) -> String {
        withUnsafeBytes(of: result.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return bytes.isEmpty ? "libpng reported an error" : String(decoding: bytes, as: UTF8.self)
        }
    }
}
