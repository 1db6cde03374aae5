/// The EXIF orientation tag (0x0112): how the stored pixels must be flipped or rotated to
/// display upright. Raw values 1…8 as in the EXIF/TIFF specification.
public enum EXIFOrientation: Int, Sendable, CaseIterable {
    case up = 1, upMirrored, down, downMirrored, leftMirrored, right, rightMirrored, left

    /// The orientation stored in a JPEG's first `Exif` APP1 segment (the one Pillow reads),
    /// or nil when there is none or it is malformed. Scans markers up to the first SOS.
    public static func fromJPEG(_ bytes: UnsafeRawBufferPointer) -> EXIFOrientation? {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var pos = 2
        while pos + 4 <= bytes.count {
            guard bytes[pos] == 0xFF else { return nil }
            let marker = bytes[pos + 1]
            if marker == 0xFF { pos += 1; continue }                 // fill byte
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { pos += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return nil }        // image data: no EXIF before it
            let length = Int(bytes[pos + 2]) << 8 | Int(bytes[pos + 3])
            guard length >= 2, pos + 2 + length <= bytes.count else { return nil }
            let payload = pos + 4
            let exifHeader: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0, 0]  // "Exif\0\0"
            if marker == 0xE1, length - 2 >= 6,
               exifHeader.indices.allSatisfy({ bytes[payload + $0] == exifHeader[$0] }) {
                let tiff = UnsafeRawBufferPointer(rebasing: bytes[(payload + 6)..<(pos + 2 + length)])
                return fromTIFF(tiff)
            }
            pos += 2 + length
        }
        return nil
    }

    /// The orientation tag of IFD0 of a TIFF structure (the body of an EXIF segment).
    static func fromTIFF(_ tiff: UnsafeRawBufferPointer) -> EXIFOrientation? {
        guard tiff.count >= 8 else { return nil }
        let little: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= tiff.count else { return nil }
            return little ? Int(tiff[at]) | Int(tiff[at + 1]) << 8 : Int(tiff[at]) << 8 | Int(tiff[at + 1])
        }
        func u32(_ at: Int) -> Int? {
            guard let a = u16(at), let b = u16(at + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return nil }
        for entry in 0..<count {
            let at = ifd + 2 + entry * 12
            guard let tag = u16(at), let type = u16(at + 2) else { return nil }
            guard tag == 0x0112 else { continue }
            let value: Int?
            switch type {
            case 3: value = u16(at + 8)   // SHORT (the standard type)
            case 4: value = u32(at + 8)   // LONG (seen in the wild; Pillow accepts it)
            default: value = nil
            }
            return value.flatMap { EXIFOrientation(rawValue: $0) }
        }
        return nil
    }

    /// `image` turned upright: the transform Pillow's `ImageOps.exif_transpose` applies
    /// (2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise, 7 transverse,
    /// 8 rotate 90° counter-clockwise). Orientations 5–8 swap width and height.
    public func apply(to image: RGBImage) -> RGBImage {
        if self == .up { return image }
        let w = image.width, h = image.height
        let swaps = rawValue >= 5
        let ow = swaps ? h : w, oh = swaps ? w : h
        var out = [UInt8](repeating: 0, count: w * h * 3)
        // For each output pixel (ox, oy), the source pixel it comes from.
        let source: (Int, Int) -> (Int, Int)
        switch self {
        case .up: source = { ($0, $1) }
        case .upMirrored: source = { (w - 1 - $0, $1) }
        case .down: source = { (w - 1 - $0, h - 1 - $1) }
        case .downMirrored: source = { ($0, h - 1 - $1) }
        case .leftMirrored: source = { ($1, $0) }
        case .right: source = { ($1, h - 1 - $0) }
        case .rightMirrored: source = { (w - 1 - $1, h - 1 - $0) }
        case .left: source = { (w - 1 - $1, $0) }
        }
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let (sx, sy) = source(ox, oy)
                        let s = (sy * w + sx) * 3, d = (oy * ow + ox) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(uncheckedWidth: ow, height: oh, pixels: out)
    }
}
