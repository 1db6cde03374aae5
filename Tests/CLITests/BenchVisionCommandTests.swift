import Foundation
import Testing

/// Runs the built `edgevlm bench vision` on the bundled demo mmproj.
@Suite struct BenchVisionCommandTests {
    static let demoProjector = InspectCommandTests.repoRoot
        .appendingPathComponent("models/demo/mmproj-edgevlm-demo-F16.gguf").path

    @Test func reportsEverySliceOfBothTestImages() throws {
        let result = try InspectCommandTests.run(["bench", "vision", "--mmproj", Self.demoProjector, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONDecoder().decode(JSONValue.self, from: result.stdout)
        let rows = try #require(json["rows"]?.array)
        #expect(rows.count == 2)
        for row in rows {
            let slices = try #require(row["slices"]?.number)
            let perSlice = try #require(row["secondsPerSlice"]?.array)
            let sizes = try #require(row["sliceSizes"]?.array)
            #expect(Double(perSlice.count) == slices && Double(sizes.count) == slices)
            for size in sizes {
                for side in size.array ?? [] { #expect((side.number ?? 1).truncatingRemainder(dividingBy: 14) == 0) }
            }
            #expect((row["encodeSeconds"]?.number ?? 0) > 0)
        }
        // The demo projector slices at 168 px: the 1344×896 image needs more than an overview.
        #expect((rows[1]["slices"]?.number ?? 0) > 1)
        #expect((json["peakRSSMiB"]?.number ?? 0) > 0)
    }

    @Test func missingProjectorIsAClearError() throws {
        let result = try InspectCommandTests.run(["bench", "vision", "--mmproj", "/nonexistent/mmproj.gguf"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/mmproj.gguf"), "\(result.stderr)")
    }
}
