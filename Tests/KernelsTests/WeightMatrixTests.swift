import GGUF
import Kernels
import Testing

@Suite struct WeightMatrixTests {
    @Test func rejectsPartialBlocks() {
        let bytes = [UInt8](repeating: 0, count: 1024)
        _ = bytes.withUnsafeBytes { raw in
            #expect(throws: KernelsError.columnsNotMultipleOfBlock(type: .q4_0, columns: 48, blockSize: 32, context: "blk.0.ffn_up.weight")) {
                _ = try WeightMatrix(type: .q4_0, rows: 2, columns: 48, data: raw.baseAddress!, name: "blk.0.ffn_up.weight")
            }
        }
    }

    @Test func rejectsUnsupportedTypes() {
        let bytes = [UInt8](repeating: 0, count: 1024)
        _ = bytes.withUnsafeBytes { raw in
            #expect(throws: KernelsError.unsupportedType(.iq2_XXS, context: "weight")) {
                _ = try WeightMatrix(type: .iq2_XXS, rows: 1, columns: 256, data: raw.baseAddress!)
            }
        }
    }

    @Test func rowBytesFollowTheBlockLayout() throws {
        let bytes = [UInt8](repeating: 0, count: 4096)
        try bytes.withUnsafeBytes { raw in
            let q4k = try WeightMatrix(type: .q4_K, rows: 2, columns: 512, data: raw.baseAddress!)
            let q80 = try WeightMatrix(type: .q8_0, rows: 2, columns: 64, data: raw.baseAddress!)
            let f16 = try WeightMatrix(type: .f16, rows: 2, columns: 7, data: raw.baseAddress!)
            #expect(q4k.rowBytes == 288)
            #expect(q80.rowBytes == 68)
            #expect(f16.rowBytes == 14)
        }
    }
}
