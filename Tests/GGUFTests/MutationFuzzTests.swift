import Foundation
import Testing
@testable import GGUF

/// Seeded random mutations of real files: the parser must return or throw a GGUFError, never
/// crash or hang, and whatever it accepts must be safe to use (tensor bytes, dequantization).
/// Bounded: a fixed number of mutants or a few seconds, whichever comes first.
@Suite struct MutationFuzzTests {
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let interesting: [UInt64] = [0, 1, 2, 3, 4, 8, 9, 12, 13, 31, 32, 63, 64, 255, 256, 0xFFFF,
                                        0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 32, 1 << 40,
                                        0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, .max]

    static func mutate(_ original: [UInt8], headerEnd: Int, rng: inout SplitMix64) -> [UInt8] {
        var bytes = original
        for _ in 0 ..< Int.random(in: 1 ... 4, using: &rng) {
            guard !bytes.isEmpty else { break }
            // Mostly the header: that is what the parser reads.
            let limit = Bool.random(using: &rng) ? min(headerEnd + 64, bytes.count) : bytes.count
            let at = Int.random(in: 0 ..< limit, using: &rng)
            switch Int.random(in: 0 ..< 6, using: &rng) {
            case 0: bytes[at] ^= UInt8(1) << UInt8.random(in: 0 ..< 8, using: &rng)
            case 1: bytes[at] = UInt8.random(in: 0 ... 255, using: &rng)
            case 2, 3:  // an interesting 4- or 8-byte little-endian value
                let value = interesting.randomElement(using: &rng) ?? 0
                let width = Bool.random(using: &rng) ? 4 : 8
                for k in 0 ..< width where at + k < bytes.count { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
            case 4: bytes.removeSubrange(at ..< min(bytes.count, at + Int.random(in: 1 ... 16, using: &rng)))
            default: bytes = Array(bytes[..<at])
            }
        }
        return bytes
    }

    @Test func mutatedRealFilesNeverCrash() throws {
        var rng = SplitMix64(state: 0x5EED_2026_1127)
        let seeds = try ["align64.gguf", "empty.gguf", "types.gguf"].map { name in
            (bytes: try TestData.bytes(name), headerEnd: try GGUFFile(path: TestData.path(name)).dataOffset)
        }
        let deadline = ContinuousClock.now + .seconds(4)
        var parsed = 0, rejected = 0
        for i in 0 ..< 6000 where ContinuousClock.now < deadline {
            let seed = seeds[i % seeds.count]
            let mutant = Self.mutate(seed.bytes, headerEnd: seed.headerEnd, rng: &rng)
            do {
                let header = try mutant.withUnsafeBytes { try GGUFParser.parse($0, file: "mutant") }
                parsed += 1
                // Accepted: everything the header promises must be usable.
                try mutant.withUnsafeBytes { raw in
                    for tensor in header.tensors where GGUFDequantize.isSupported(tensor.type) && tensor.elementCount <= 1 << 16 {
                        let start = header.dataOffset + tensor.offset
                        let bytes = UnsafeRawBufferPointer(rebasing: raw[start ..< start + tensor.byteCount])
                        var out = [Float](repeating: 0, count: tensor.elementCount)
                        try out.withUnsafeMutableBufferPointer {
                            try GGUFDequantize.dequantize(bytes, type: tensor.type, into: $0, tensor: tensor.name)
                        }
                    }
                }
                _ = header.metadata.entries.map(\.value.description)
            } catch is GGUFError {
                rejected += 1
            }
        }
        print("mutation fuzz: \(parsed + rejected) mutants, \(parsed) accepted, \(rejected) rejected with a GGUFError")
        #expect(parsed + rejected >= 100, "too few mutants in the time budget: \(parsed + rejected)")
        #expect(rejected > 0 && parsed > 0)
    }
}
