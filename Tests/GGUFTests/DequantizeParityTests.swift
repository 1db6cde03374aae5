import Foundation
import Testing
@testable import GGUF

/// Dequantization must equal gguf-py's `gguf.quants.dequantize` bit for bit.
@Suite struct DequantizeParityTests {
    static let files = ["types.gguf", "align64.gguf"]

    @Test(arguments: files)
    func everyTensorMatchesGGUFPyBitForBit(name: String) throws {
        let description = try TestData.fileDescription(name)
        let expectedNames = (description["expected"]?.array ?? []).compactMap(\.string)
        let file = try GGUFFile(path: TestData.path(name))
        #expect(!expectedNames.isEmpty)
        var typesSeen = Set<GGMLType>()
        for tensorName in expectedNames {
            let tensor = try file.tensor(named: tensorName)
            let raw = try TestData.bytes("\(name).expected/\(tensorName).f32")
            let expected = stride(from: 0, to: raw.count, by: 4).map {
                UInt32(raw[$0]) | UInt32(raw[$0 + 1]) << 8 | UInt32(raw[$0 + 2]) << 16 | UInt32(raw[$0 + 3]) << 24
            }
            let values = try GGUFDequantize.dequantize(tensor, of: file)
            #expect(values.count == tensor.elementCount)
            let mismatches = zip(values, expected).enumerated().filter { $0.element.0.bitPattern != $0.element.1 }
            #expect(values.count == expected.count && mismatches.isEmpty,
                    "\(tensorName) (\(tensor.type)): \(mismatches.count) mismatches, first \(mismatches.prefix(3).map { "#\($0.offset): \($0.element.0) vs \(Float(bitPattern: $0.element.1))" })")
            typesSeen.insert(tensor.type)
        }
        if name == "types.gguf" {
            #expect(typesSeen == GGUFDequantize.supportedTypes, "types without a gguf-py reference: \(GGUFDequantize.supportedTypes.subtracting(typesSeen))")
        }
    }

    /// Row ranges give the same values as the whole tensor, for every supported type.
    @Test func rowRangesMatchTheWholeTensor() throws {
        let file = try GGUFFile(path: TestData.path("types.gguf"))
        for tensor in file.tensors where GGUFDequantize.isSupported(tensor.type) && tensor.rowCount >= 3 {
            let whole = try GGUFDequantize.dequantize(tensor, of: file)
            var part = [Float](repeating: 0, count: 2 * tensor.rowLength)
            try part.withUnsafeMutableBufferPointer {
                try GGUFDequantize.dequantizeRows(tensor, of: file, rows: 1 ..< 3, into: $0)
            }
            let expected = whole[tensor.rowLength ..< 3 * tensor.rowLength]
            #expect(part.map(\.bitPattern) == expected.map(\.bitPattern), "\(tensor.name)")
            #expect(throws: GGUFError.self) {
                try part.withUnsafeMutableBufferPointer {
                    try GGUFDequantize.dequantizeRows(tensor, of: file, rows: tensor.rowCount - 1 ..< tensor.rowCount + 1, into: $0)
                }
            }
        }
        #expect(GGUFDequantize.float(fromHalfBits: 0x3C00) == 1)
    }

    @Test func unsupportedTypesAreATypedErrorNamingTheTensor() throws {
        let file = try GGUFFile(path: TestData.path("types.gguf"))
        let tensor = try file.tensor(named: "iq2_xxs.0")
        #expect(throws: GGUFError.unsupportedDequantization(tensor: "iq2_xxs.0", type: .iq2_XXS)) {
            try GGUFDequantize.dequantize(tensor, of: file)
        }
    }

    @Test func wrongBufferSizesAreRejected() throws {
        let bytes = [UInt8](repeating: 0, count: 34)
        var out = [Float](repeating: 0, count: 64)
        #expect(throws: GGUFError.dequantizationSizeMismatch(tensor: "x", type: .q8_0, elements: 64, bytes: 34)) {
            try bytes.withUnsafeBytes { src in
                try out.withUnsafeMutableBufferPointer { try GGUFDequantize.dequantize(src, type: .q8_0, into: $0, tensor: "x") }
            }
        }
    }

    /// The fp16 table equals the compiler's own Float16 → Float conversion for every bit pattern.
    @Test func halfTableMatchesFloat16ForAllPatterns() {
        var mismatches = 0
        for h in 0 ... UInt16.max {
            let expected = Float(Float16(bitPattern: h))
            let got = HalfFloat.table[Int(h)]
            if expected.isNaN ? !got.isNaN : expected.bitPattern != got.bitPattern { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}
