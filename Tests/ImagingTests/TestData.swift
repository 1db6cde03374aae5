import Foundation
import Testing
@testable import Imaging

/// Locates `.testdata/imaging` (made by `tools/testdata/imaging.py` through
/// `scripts/gen-testdata.sh`) from this file's path.
enum TestData {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".testdata/imaging")

    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String { "missing test data \(path): run scripts/gen-testdata.sh first" }
    }

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    static func bytes(_ relative: String) throws -> [UInt8] {
        let u = url(relative)
        guard let data = FileManager.default.contents(atPath: u.path) else { throw Missing(path: u.path) }
        // A bulk copy: element-wise conversion is slow in unoptimised test builds.
        return [UInt8](unsafeUninitializedCapacity: data.count) { buffer, count in
            count = data.copyBytes(to: buffer)
        }
    }

    static func image(_ relative: String, width: Int, height: Int) throws -> RGBImage {
        try RGBImage(width: width, height: height, pixels: bytes(relative))
    }

    static func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(bytes("manifest.json")))
    }

    /// The per-channel absolute differences between two equally sized images:
    /// (max difference, number of samples that differ).
    static func difference(_ a: RGBImage, _ b: RGBImage) -> (max: Int, count: Int) {
        if a == b { return (0, 0) }  // Imaging's (optimised) Equatable: the common case is fast
        var maxDiff = 0, count = 0
        for (x, y) in zip(a.pixels, b.pixels) where x != y {
            count += 1
            maxDiff = max(maxDiff, abs(Int(x) - Int(y)))
        }
        return (maxDiff, count)
    }
}

struct Manifest: Decodable {
    struct DecodeCase: Decodable, CustomTestStringConvertible {
        let file: String
        let expected: String?
        let width: Int?
        let height: Int?
        let error: String?
        var testDescription: String { file }
    }
    struct ResizeCase: Decodable, CustomTestStringConvertible {
        let source: String
        let width: Int
        let height: Int
        let target_width: Int
        let target_height: Int
        let filter: String
        let expected: String
        var testDescription: String { "\(source) → \(target_width)×\(target_height) \(filter)" }
    }
    struct SliceCase: Decodable, CustomTestStringConvertible {
        let source: String
        let width: Int
        let height: Int
        let mode: String
        let grid: [Int]?
        let overview: String
        let overview_size: [Int]
        let slices: [String]
        let slice_size: [Int]?
        var testDescription: String { "\(source) \(mode)" }
    }
    let decode: [DecodeCase]
    let resize: [ResizeCase]
    let slices: [SliceCase]
}
