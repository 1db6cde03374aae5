import Foundation
import Testing
@testable import Imaging

/// Normalisation and position ids against numpy (tools/testdata/imaging.py).
@Suite struct PixelTensorTests {
    struct Tensors: Decodable {
        struct Normalization: Decodable {
            let name: String
            let mean: [Float]
            let std: [Float]
            let file: String
        }
        let source: String
        let width: Int
        let height: Int
        let normalizations: [Normalization]
        let buckets: [String: [Int]]
    }
    struct Root: Decodable { let tensors: Tensors }

    static func tensors() throws -> Tensors {
        try JSONDecoder().decode(Root.self, from: Data(TestData.bytes("manifest.json"))).tensors
    }

    @Test func normalisesLikeNumpyFloat32() throws {
        let t = try Self.tensors()
        let image = try TestData.image(t.source, width: t.width, height: t.height)
        #expect(t.normalizations.count == 2)
        for n in t.normalizations {
            let tensor = PixelTensor(image, normalization: try PixelNormalization(mean: n.mean, std: n.std))
            let raw = try TestData.bytes(n.file)
            let expected = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            #expect(tensor.values.count == 3 * t.width * t.height)
            #expect(tensor.values == expected, "\(n.name): planar values differ from numpy")
            // Planar layout: channel c of pixel (x, y).
            let green = image[5, 3].g
            let want = (Float(green) / 255 - n.mean[1]) / n.std[1]
            #expect(tensor[1, 5, 3] == want && expected[(1 * t.height + 3) * t.width + 5] == want)
        }
        #expect(PixelNormalization.miniCPMV == (try PixelNormalization(mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])))
        #expect(throws: ImagingError.self) { try PixelNormalization(mean: [0.5], std: [0.5]) }
        #expect(throws: ImagingError.self) { try PixelNormalization(mean: [0, 0, 0], std: [1, 0, 1]) }
    }

    @Test func bucketsMatchFloorFormula() throws {
        let t = try Self.tensors()
        #expect(t.buckets.count > 250)
        for (key, want) in t.buckets {
            let n = try #require(Int(key))
            #expect(VisionPatchGrid.buckets(count: n) == want, "n = \(n)")
        }
    }

    @Test func patchGridAndPositionIDs() throws {
        let grid = try VisionPatchGrid(imageSize: ImageSize(width: 448, height: 448))
        #expect(grid.columns == 32 && grid.rows == 32 && grid.count == 1024)
        let ids = grid.positionIDs()
        // spec §1.2: a 32×32 grid selects rows/cols 0, 2, 4, 6, 8, 10, 13, 15, … of the table.
        #expect(Array(ids.prefix(8)) == [0, 2, 4, 6, 8, 10, 13, 15])
        #expect(ids[32] == 2 * 70)
        // 3000×400 reference overview 1218×168: 87 patches wide (> 70: buckets repeat).
        let wide = try VisionPatchGrid(imageSize: ImageSize(width: 1218, height: 168))
        #expect(wide.columns == 87 && wide.rows == 12)
        let wideIDs = wide.positionIDs()
        #expect(wideIDs.count == 87 * 12)
        #expect(wideIDs[86] == 69)          // col 86 of 87 → bucket 70·86/87 = 69
        #expect(wideIDs[87] == 350)         // row 1 of 12 → bucket 5 → 5·70
        let maxID = try #require(wideIDs.max())
        #expect(Int(maxID) == 64 * 70 + 69)
        #expect(throws: ImagingError.self) { try VisionPatchGrid(imageSize: ImageSize(width: 450, height: 448)) }
    }
}
