import Foundation
import GGUF
@testable import Kernels

/// Deterministic random numbers (SplitMix64) so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func normal() -> Float {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
    mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in normal() * scale }
    }
}

/// Byte offsets of the fp16 scale fields in one block of `type` (set to small positive values
/// in random blocks so every decoded value is finite and moderate).
func scaleOffsets(_ type: GGMLType) -> [Int] {
    switch type {
    case .q4_0, .q5_0, .q8_0: [0]
    case .q4_1, .q5_1: [0, 2]
    case .q2_K: [80, 82]
    case .q3_K: [108]
    case .q4_K, .q5_K: [0, 2]
    case .q6_K: [208]
    default: []
    }
}

/// A random weight matrix of `type`: random block bytes with moderate scales, or random
/// normal values for the float types. Returns the owning bytes.
func randomWeightBytes(_ type: GGMLType, rows: Int, columns: Int, rng: inout SeededGenerator) -> [UInt8] {
    let count = rows * columns
    switch type {
    case .f32:
        return rng.floats(count).withUnsafeBytes { Array($0) }
    case .f16:
        return rng.floats(count).map { Float16($0).bitPattern }.withUnsafeBytes { Array($0) }
    case .bf16:
        return rng.floats(count).map { UInt16($0.bitPattern >> 16) }.withUnsafeBytes { Array($0) }
    default:
        let blocks = count / type.blockSize
        var bytes = (0..<(blocks * type.bytesPerBlock)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for b in 0..<blocks {
            for offset in scaleOffsets(type) {
                let scale = Float16(Float.random(in: 0.002...0.02, using: &rng)).bitPattern
                bytes[b * type.bytesPerBlock + offset] = UInt8(scale & 0xFF)
                bytes[b * type.bytesPerBlock + offset + 1] = UInt8(scale >> 8)
            }
        }
        return bytes
    }
}

/// The repository root, found from this file's path.
func repositoryRoot(filePath: String = #filePath) -> URL {
    URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

enum TestDataError: Error, CustomStringConvertible {
    case missing(String)
    var description: String {
        switch self {
        case let .missing(path): "missing test data \(path): run scripts/gen-testdata.sh"
        }
    }
}

func loadTestData(_ name: String) throws -> Data {
    let url = repositoryRoot().appendingPathComponent(".testdata/kernels/\(name)")
    guard let data = FileManager.default.contents(atPath: url.path) else { throw TestDataError.missing(url.path) }
    return data
}

/// Runs `body` with each instruction-set level this CPU offers selected for this thread and
/// the pool loops it starts (tests running beside it keep theirs).
func forEachISA(_ body: (KernelISA) throws -> Void) rethrows {
    for isa in KernelsInfo.availableISAs {
        try KernelsInfo.withISA(isa) { _ in try body(isa) }
    }
}
