import Testing
@testable import GGUF

@Suite struct GGMLTypeTests {
    /// Block sizes and bytes per block equal gguf-py's GGML_QUANT_SIZES for every type both know.
    /// Known difference: gguf-py lists Q8_1 as 40 bytes (float d and s), while ggml's
    /// `block_q8_1` holds two halves: 36 bytes (ggml-common.h static_assert). We follow ggml.
    @Test func sizesMatchGGUFPy() throws {
        let sizes = try #require(try TestData.manifest()["quant_sizes"]?.object)
        var compared = 0
        for type in GGMLType.allCases {
            guard let pair = sizes[type.name.lowercased()]?.array?.compactMap(\.int) else { continue }
            if type == .q8_1 {
                #expect(pair == [32, 40] && type.bytesPerBlock == 36)
                continue
            }
            #expect(pair == [type.blockSize, type.bytesPerBlock], "\(type)")
            compared += 1
        }
        #expect(compared >= 30)
    }

    @Test func byteCountRejectsPartialBlocksAndOverflow() {
        #expect(GGMLType.q4_K.byteCount(elements: 512) == 288)
        #expect(GGMLType.q4_K.byteCount(elements: 100) == nil)
        #expect(GGMLType.f32.byteCount(elements: Int.max) == nil)
        #expect(GGMLType.f32.byteCount(elements: -4) == nil)
    }
}
