import CKernels
import Foundation
import GGUF
import Kernels
import Testing

/// Block decoders against gguf-py's dequantization (tools/testdata/kernels.py).
@Suite struct DequantizeTests {
    static let rows = 5, columns = 512

    @Test(arguments: [GGMLType.f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K])
    func decodesLikeGGUFPy(type: GGMLType) throws {
        let blocks = try loadTestData("\(type.name).blocks")
        let expected = try loadTestData("\(type.name).f32")
        #expect(blocks.count == Self.rows * (type.byteCount(elements: Self.columns) ?? -1))
        try blocks.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: type, rows: Self.rows, columns: Self.columns, data: raw.baseAddress!)
            var row = [Float](repeating: 0, count: Self.columns)
            expected.withUnsafeBytes { want in
                let want = want.bindMemory(to: Float.self)
                for r in 0..<Self.rows {
                    row.withUnsafeMutableBufferPointer { matrix.dequantizeRow(r, into: $0.baseAddress!) }
                    for c in 0..<Self.columns {
                        let w = want[r * Self.columns + c]
                        // gguf-py decodes in float32 too, with possibly different operation order.
                        #expect(abs(row[c] - w) <= 1e-6 * max(1, abs(w)), "\(type) row \(r) col \(c): \(row[c]) vs \(w)")
                        if abs(row[c] - w) > 1e-6 * max(1, abs(w)) { return }
                    }
                }
            }
        }
    }
    /// The vectorised decoders (the SGEMM route's weight conversion) on every ISA level equal
    /// the scalar twin bit for bit, on gguf-py's blocks.
    @Test(arguments: [GGMLType.q4_0, .q5_0, .q8_0, .q4_1, .q6_K])
    func vectorDecodersMatchTheScalarTwin(type: GGMLType) throws {
        let blocks = try loadTestData("\(type.name).blocks")
        let count = Self.rows * Self.columns
        try forEachISA { isa in
            var fast = [Float](repeating: .nan, count: count), twin = fast
            blocks.withUnsafeBytes { raw in
                ck_dequantize_row(Int32(type.rawValue), raw.baseAddress, &fast, Int64(count))
                ck_dequantize_row_ref(Int32(type.rawValue), raw.baseAddress, &twin, Int64(count))
            }
            #expect(fast.map(\.bitPattern) == twin.map(\.bitPattern), "\(type) on \(isa)")
        }
    }
}
