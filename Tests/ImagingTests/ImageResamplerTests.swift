import Testing
@testable import Imaging

/// Resizing against Pillow's `Image.resize(size, BICUBIC|BILINEAR)`: bit-exact.
@Suite struct ImageResamplerTests {
    static let cases: [Manifest.ResizeCase] = (try? TestData.manifest().resize) ?? []

    @Test func manifestIsPresent() throws {
        #expect(try TestData.manifest().resize.count > 80)
    }

    @Test(arguments: cases)
    func resizesLikePillow(_ c: Manifest.ResizeCase) throws {
        let source = try TestData.image(c.source, width: c.width, height: c.height)
        let filter: ResampleFilter = c.filter == "bilinear" ? .bilinear : .bicubic
        let result = try source.resized(width: c.target_width, height: c.target_height, filter: filter)
        let expected = try TestData.image(c.expected, width: c.target_width, height: c.target_height)
        let diff = TestData.difference(result, expected)
        #expect(diff.count == 0, "\(diff.count) of \(expected.pixels.count) samples differ, max \(diff.max)")
    }

    @Test func rejectsEmptyTargets() throws {
        let image = try RGBImage(width: 1, height: 1, pixels: [1, 2, 3])
        #expect(throws: ImagingError.self) { try image.resized(width: 0, height: 5) }
    }

    @Test func coefficientsSumToOne() {
        // Each output pixel's fixed-point weights sum to 2^22 up to rounding of each tap.
        for (inSize, outSize) in [(10, 3), (3, 10), (1000, 7), (7, 1000), (448, 448)] {
            let c = ImageResampler.coefficients(inSize: inSize, outSize: outSize, filter: .bicubic)
            for xx in 0..<outSize {
                let sum = (0..<c.count[xx]).reduce(0) { $0 + Int(c.weights[xx * c.kernelSize + $1]) }
                #expect(abs(sum - (1 << 22)) <= c.count[xx])
            }
        }
    }
}
