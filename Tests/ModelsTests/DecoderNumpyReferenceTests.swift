import Foundation
import Models
import Testing

/// The decoder against an independent float64 numpy forward pass (`tools/testdata/llm.py`
/// `reference_logits`) on the tiny F16 files: checks the architecture math (RoPE pairing,
/// GQA grouping, biases, norms, SwiGLU, causal mask) separately from llama.cpp's rounding.
@Suite("Decoder vs numpy reference")
struct DecoderNumpyReferenceTests {
    static let tokens: [Int32] = [3, 14, 15, 92, 65, 35, 89, 79, 32, 38, 46, 26, 43, 38, 32, 79]

    @Test("all-position logits match numpy", arguments: ["qwen2", "llama"])
    func logits(arch: String) throws {
        let path = try LLMFixtures.generatedPath("tiny-\(arch)-f16.gguf")
        let reference = try LLMFixtures.floats(try LLMFixtures.generatedPath("tiny-\(arch)-f16.numpy-logits.f32"))
        for cacheType in KVCache.StorageType.allCases {
            let decoder = try Decoder(path: path, threadCount: 2)
            let logits = try decoder.forward(tokens: Self.tokens, cache: decoder.makeCache(capacity: 32, storageType: cacheType), logits: .all)
            #expect(logits.count == reference.count)
            let error = relativeL2(logits[...], reference[...])
            // Measured ≈3e-4: F16 weights with activations rounded to F16 in the matrix products.
            #expect(error < 2e-3, "\(arch) \(cacheType): relative L2 \(error)")
            let v = decoder.configuration.vocabularySize
            for r in 0..<Self.tokens.count {
                #expect(firstArgmax(logits[(r * v)..<((r + 1) * v)]) == firstArgmax(reference[(r * v)..<((r + 1) * v)]))
            }
        }
    }
}
