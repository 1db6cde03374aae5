import Foundation
import Testing
@testable import Imaging

/// Decoding against Pillow's decoded pixels (`ImageOps.exif_transpose` + `convert("RGB")`).
@Suite struct ImageDecoderTests {
    static let cases: [Manifest.DecodeCase] = (try? TestData.manifest().decode) ?? []

    @Test func manifestIsPresent() throws {
        #expect(try TestData.manifest().decode.count > 40)
    }

    @Test(arguments: cases.filter { $0.error == nil })
    func decodesLikePillow(_ c: Manifest.DecodeCase) throws {
        let data = try TestData.bytes(c.file)
        let image = try ImageDecoder.decode(data, source: c.file)
        let width = try #require(c.width), height = try #require(c.height)
        #expect(image.width == width && image.height == height)
        let expected = try TestData.image(try #require(c.expected), width: width, height: height)
        let diff = TestData.difference(image, expected)
        // PNG must be exact; JPEG too (same libjpeg-turbo algorithms: ISLOW IDCT, fancy
        // upsampling); any difference is reported with its size.
        #expect(diff.count == 0, "\(c.file): \(diff.count) samples differ, max \(diff.max)")
    }

    @Test(arguments: cases.filter { $0.error != nil })
    func rejectsBadInput(_ c: Manifest.DecodeCase) throws {
        let data = try TestData.bytes(c.file)
        do {
            _ = try ImageDecoder.decode(data, source: c.file)
            Issue.record("\(c.file) decoded, expected \(c.error ?? "")")
        } catch let error as ImagingError {
            let kind: String
            switch error {
            case .empty: kind = "empty"
            case .unsupportedFormat: kind = "unsupportedFormat"
            case .corrupt: kind = "corrupt"
            case .truncated: kind = "truncated"
            case .zeroSize: kind = "zeroSize"
            case .tooManyPixels: kind = "tooManyPixels"
            default: kind = "\(error)"
            }
            #expect(kind == c.error, "\(c.file): \(error)")
            #expect(error.description.contains(c.file))
        }
    }

    @Test func pixelLimitIsConfigurable() throws {
        let data = try TestData.bytes("decode/large640x480.jpg")
        #expect(throws: ImagingError.tooManyPixels(source: "x", width: 640, height: 480, limit: 640 * 480 - 1)) {
            try ImageDecoder.decode(data, source: "x", options: ImageDecodingOptions(maxPixelCount: 640 * 480 - 1))
        }
        let image = try ImageDecoder.decode(data, options: ImageDecodingOptions(maxPixelCount: 640 * 480))
        #expect(image.size == ImageSize(width: 640, height: 480))
    }

    @Test func exifOrientationCanBeIgnored() throws {
        let data = try TestData.bytes("decode/exif_orientation6.jpg")
        let upright = try ImageDecoder.decode(data)
        let stored = try ImageDecoder.decode(data, options: ImageDecodingOptions(appliesEXIFOrientation: false))
        #expect(upright.size == ImageSize(width: 13, height: 23))
        #expect(stored.size == ImageSize(width: 23, height: 13))
        let orientation = data.withUnsafeBytes { EXIFOrientation.fromJPEG($0) }
        #expect(orientation == .right)
    }

    @Test func decodesFilesByContentNotName() throws {
        // A PNG named .jpg and the reverse decode by their magic bytes.
        let png = try TestData.bytes("decode/rgb8.png")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("imaging-\(UUID()).jpg").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(png)))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fromFile = try ImageDecoder.decodeFile(atPath: path)
        #expect(fromFile == (try ImageDecoder.decode(png)))
        #expect(throws: ImagingError.self) { try ImageDecoder.decodeFile(atPath: path + ".missing") }
    }
}

/// The raw camera path.
@Suite struct RawBufferTests {
    @Test func wrapsAndConvertsLayouts() throws {
        let rgba: [UInt8] = [1, 2, 3, 255, 4, 5, 6, 0, 7, 8, 9, 9, 10, 11, 12, 12]
        let fromRGBA = try RGBImage(width: 2, height: 2, channels: 4, bytes: rgba)
        #expect(fromRGBA.pixels == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        let gray = try RGBImage(width: 2, height: 1, channels: 1, rowStride: 3, bytes: [7, 9, 99])
        #expect(gray.pixels == [7, 7, 7, 9, 9, 9])
        // A stride larger than the row: the padding bytes are skipped.
        let padded = try RGBImage(width: 1, height: 2, channels: 3, rowStride: 4, bytes: [1, 2, 3, 0, 4, 5, 6])
        #expect(padded.pixels == [1, 2, 3, 4, 5, 6])
        #expect(throws: ImagingError.bufferSizeMismatch(width: 2, height: 2, channels: 3, byteCount: 11)) {
            try RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 0, count: 11))
        }
        #expect(throws: ImagingError.self) { try RGBImage(width: 0, height: 2, pixels: []) }
    }

    @Test func cropsExactly() throws {
        let pixels = (0..<(4 * 3 * 3)).map { UInt8($0) }
        let image = try RGBImage(width: 4, height: 3, pixels: pixels)
        let crop = try image.cropped(x: 1, y: 1, width: 2, height: 2)
        #expect(crop.pixels == [15, 16, 17, 18, 19, 20, 27, 28, 29, 30, 31, 32])
        #expect(throws: ImagingError.self) { try image.cropped(x: 3, y: 0, width: 2, height: 1) }
    }
}
