import Foundation
import Testing
@testable import Imaging

/// Slice plans against the Python transcriptions (tools/pyref) over thousands of sizes, and
/// slice pixels against Pillow + those transcriptions.
@Suite struct MiniCPMVSlicerTests {
    struct TableRow: Decodable {
        struct Plan: Decodable {
            let grid: [Int]?
            let overview: [Int]
            let refine: [Int]?
            let slice: [Int]?
            let content: [Int]?   // llama.cpp mode: content w, h, offset x, y
        }
        let w: Int
        let h: Int
        let ref: Plan
        let compat: Plan
    }

    static func table() throws -> [TableRow] {
        try JSONDecoder().decode([TableRow].self, from: Data(TestData.bytes("slicing.json")))
    }

    static func pair(_ s: ImageSize?) -> [Int]? { s.map { [$0.width, $0.height] } }

    @Test func referencePlansMatchPython() throws {
        let rows = try Self.table()
        #expect(rows.count > 3000)
        let slicer = MiniCPMVSlicer()
        var mismatches: [String] = []
        for row in rows {
            let p = try slicer.plan(for: ImageSize(width: row.w, height: row.h))
            let got = ([p.grid?.columns, p.grid?.rows].compactMap { $0 }, Self.pair(p.overviewSize), Self.pair(p.refineSize), Self.pair(p.sliceSize))
            let want = (row.ref.grid ?? [], row.ref.overview, row.ref.refine, row.ref.slice)
            if got.0 != want.0 || got.1 != want.1 || got.2 != want.2 || got.3 != want.3 {
                mismatches.append("\(row.w)×\(row.h): got \(got) want \(want)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(rows.count): \(mismatches.prefix(5))")
    }

    @Test func llamaCppPlansMatchCTranscription() throws {
        let rows = try Self.table()
        let slicer = MiniCPMVSlicer(configuration: MiniCPMVSlicingConfiguration(mode: .llamaCpp))
        var mismatches: [String] = []
        var differsFromReference = 0
        for row in rows {
            let p = try slicer.plan(for: ImageSize(width: row.w, height: row.h))
            let content = p.grid == nil ? nil : p.refineContent.map { [$0.width, $0.height, $0.x, $0.y] }
            let got = ([p.grid?.columns, p.grid?.rows].compactMap { $0 }, Self.pair(p.overviewSize), Self.pair(p.refineSize), Self.pair(p.sliceSize), content)
            let want = (row.compat.grid ?? [], row.compat.overview, row.compat.refine, row.compat.slice, row.compat.content)
            if got.0 != want.0 || got.1 != want.1 || got.2 != want.2 || got.3 != want.3 || got.4 != want.4 {
                mismatches.append("\(row.w)×\(row.h): got \(got) want \(want)")
            }
            if row.compat.overview != row.ref.overview || (row.compat.grid ?? []) != (row.ref.grid ?? []) { differsFromReference += 1 }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(rows.count): \(mismatches.prefix(5))")
        // The two modes are genuinely different on this table (spec §3.3), so the test
        // cannot pass by both modes running the same code.
        #expect(differsFromReference > rows.count / 10)
    }

    @Test func workedExamplesOfTheSpec() throws {
        // minicpmv-spec.md §3.4 (reference mode).
        let slicer = MiniCPMVSlicer()
        let p = try slicer.plan(for: ImageSize(width: 1920, height: 1080))
        #expect(p.grid == SliceGrid(columns: 4, rows: 2))
        #expect(p.overviewSize == ImageSize(width: 602, height: 336))
        #expect(p.refineSize == ImageSize(width: 1680, height: 952))
        #expect(p.sliceSize == ImageSize(width: 420, height: 476))
        #expect(p.sliceRects.count == 8 && p.sliceRects[5] == PixelRect(x: 420, y: 476, width: 420, height: 476))
        let small = try slicer.plan(for: ImageSize(width: 400, height: 300))
        #expect(small.grid == nil && small.overviewSize == ImageSize(width: 518, height: 392) && small.imageCount == 1)
    }

    @Test func rejectsInvalidInput() {
        #expect(throws: ImagingError.self) { try MiniCPMVSlicer().plan(for: ImageSize(width: 0, height: 10)) }
        let bad = MiniCPMVSlicer(configuration: MiniCPMVSlicingConfiguration(patchSize: 0))
        #expect(throws: ImagingError.self) { try bad.plan(for: ImageSize(width: 10, height: 10)) }
    }

    static let sliceCases: [Manifest.SliceCase] = (try? TestData.manifest().slices) ?? []

    @Test(arguments: sliceCases)
    func slicePixelsMatchPillow(_ c: Manifest.SliceCase) throws {
        let source = try TestData.image(c.source, width: c.width, height: c.height)
        let mode: MiniCPMVSlicingMode = c.mode == "llamacpp" ? .llamaCpp : .reference
        let sliced = try MiniCPMVSlicer(configuration: MiniCPMVSlicingConfiguration(mode: mode)).slice(source)
        #expect(sliced.plan.grid.map { [$0.columns, $0.rows] } == c.grid)
        #expect([sliced.overview.width, sliced.overview.height] == c.overview_size)
        let overview = try TestData.image(c.overview, width: c.overview_size[0], height: c.overview_size[1])
        #expect(sliced.overview == overview, "overview differs: \(TestData.difference(sliced.overview, overview))")
        #expect(sliced.slices.count == c.slices.count)
        for (i, file) in c.slices.enumerated() where i < sliced.slices.count {
            let size = try #require(c.slice_size)
            let expected = try TestData.image(file, width: size[0], height: size[1])
            #expect(sliced.slices[i] == expected, "slice \(i) differs: \(TestData.difference(sliced.slices[i], expected))")
        }
        #expect(sliced.encoderInputs.count == 1 + c.slices.count)
    }
}
