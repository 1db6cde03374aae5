import Foundation
import GGUF
import Models
import Testing

/// Internal consistency and error handling of the decoder (no llama.cpp needed).
@Suite("Decoder behaviour")
struct DecoderBehaviourTests {
    @Test("hyperparameters come from the metadata")
    func configuration() throws {
        let qwen = try DecoderConfiguration(file: GGUFFile(path: LLMFixtures.modelPath("tiny-qwen2-f16")))
        #expect(qwen.architecture == .qwen2 && qwen.ropeType == .neox)
        #expect(qwen.layerCount == 2 && qwen.embeddingLength == 256 && qwen.headCount == 4 && qwen.kvHeadCount == 2)
        #expect(qwen.ropeFrequencyBase == 1_000_000 && qwen.rmsNormEpsilon == 1e-6)
        let llama = try DecoderConfiguration(file: GGUFFile(path: LLMFixtures.modelPath("tiny-llama-f16")))
        #expect(llama.architecture == .llama && llama.ropeType == .norm)
        #expect(llama.kvHeadCount == 1 && llama.ropeFrequencyBase == 500_000 && llama.rmsNormEpsilon == 1e-5)
    }

    @Test("a batch prefill equals token-by-token decoding", arguments: ["tiny-qwen2-f16", "tiny-llama-q4_k_m", "tiny-qwen2-q4_0"])
    func prefillMatchesDecode(name: String) throws {
        let decoder = try Decoder(path: try LLMFixtures.modelPath(name), threadCount: 2)
        // 7 tokens: the register tiles, as decoding; 40: Q4_0 through the integer GEMM, the
        // others through the tiles; 300: the GEMM (Q4_0) or the SGEMM route (MatMul.computeCompatible).
        for count in [7, 40, 300] {
            let tokens: [Int32] = (0..<count).map { Int32(($0 * 37 + 5) % 400) }
            let batched = try decoder.forward(tokens: tokens, cache: decoder.makeCache(capacity: count), logits: .all)
            let cache = decoder.makeCache(capacity: count)
            var stepped: [Float] = []
            for t in tokens { stepped += try decoder.forward(tokens: [t], cache: cache) }
            #expect(cache.count == tokens.count)
            let error = relativeL2(stepped[...], batched[...])
            // Both quantize activations as ggml does and differ only in float summation order,
            // but in these random tiny models an order difference that moves an activation across
            // a quantization step cascades. Measured (2026-11-28, attention rounding its query and
            // probabilities to fp16 as ggml does): 8 tokens through the tiles 0 (Q4_0, Q4_K_M) and
            // 1.6e-4 (F16: the scores' summation order differs between 8-row and 1-row SGEMMs and
            // flips an fp16 rounding of a probability; 0 to 1e-7 before that rounding); 8 tokens of
            // Q4_0 through the GEMM 1.3e-3; 300 tokens 2.2e-4 (F16), 7.2e-3 (Q4_0), 8.3e-3 (Q4_K_M).
            #expect(error < (count < 8 ? 5e-4 : 2e-2), "\(name), \(count) tokens: relative L2 \(error)")
        }
    }

    @Test("a prompt longer than one pass runs in passes with the same logits")
    func microBatches() throws {
        let decoder = try Decoder(path: try LLMFixtures.modelPath("tiny-qwen2-q8_0"), threadCount: 2)
        let count = Decoder.microBatchSize + 37
        let tokens: [Int32] = (0..<count).map { Int32(($0 * 29 + 3) % 400) }
        let vocabulary = decoder.configuration.vocabularySize
        let cache = decoder.makeCache(capacity: count)
        let all = try decoder.forward(tokens: tokens, cache: cache, logits: .all)
        #expect(all.count == count * vocabulary && cache.count == count)
        // The same two passes by hand: identical bits.
        let byHand = decoder.makeCache(capacity: count)
        let head = try decoder.forward(tokens: Array(tokens[..<Decoder.microBatchSize]), cache: byHand, logits: .all)
        let tail = try decoder.forward(tokens: Array(tokens[Decoder.microBatchSize...]), cache: byHand, logits: .all)
        #expect(all == head + tail)
        let last = try decoder.forward(tokens: tokens, cache: decoder.makeCache(capacity: count), logits: .last)
        #expect(last == Array(all[((count - 1) * vocabulary)...]))
        // A call that fails (context overflow) leaves the cache as it was.
        let small = decoder.makeCache(capacity: count)
        _ = try decoder.forward(tokens: [1, 2], cache: small, logits: .none)
        #expect(throws: ModelsError.self) { try decoder.forward(tokens: tokens, cache: small) }
        #expect(small.count == 2)
    }

    @Test("a truncated cache recomputes the same logits (prefix reuse)")
    func prefixReuse() throws {
        let decoder = try Decoder(path: try LLMFixtures.modelPath("tiny-qwen2-q8_0"), threadCount: 1)
        let cache = decoder.makeCache(capacity: 32)
        let full = try decoder.forward(tokens: [1, 2, 3, 4, 5, 6], cache: cache)
        cache.truncate(to: 3)
        #expect(cache.commonPrefixLength(with: [1, 2, 3, 9]) == 3)
        let again = try decoder.forward(tokens: [4, 5, 6], cache: cache)
        #expect(again == full)
    }

    @Test("F32 and F16 caches agree closely")
    func cacheTypes() throws {
        let decoder = try Decoder(path: try LLMFixtures.modelPath("tiny-llama-f16"))
        let tokens: [Int32] = Array(10..<40)
        let f16 = try decoder.forward(tokens: tokens, cache: decoder.makeCache(capacity: 64, storageType: .f16))
        let f32 = try decoder.forward(tokens: tokens, cache: decoder.makeCache(capacity: 64, storageType: .f32))
        #expect(relativeL2(f16[...], f32[...]) < 5e-3)
        #expect(f16 != f32)
    }

    @Test("the tied output embedding is used when output.weight is absent; unused tensors are reported")
    func tiedOutputAndUnused() throws {
        let untied = try Decoder(path: try LLMFixtures.modelPath("tiny-qwen2-f16"))
        #expect(!untied.weights.tiedOutput)
        #expect(untied.weights.unusedTensors.isEmpty)
        let tied = try Decoder(path: try LLMFixtures.generatedPath("broken-extra.gguf"))
        #expect(tied.weights.tiedOutput)
        #expect(tied.weights.unusedTensors == ["blk.0.extra.weight"])
        let logits = try tied.forward(tokens: [1, 2, 3], cache: tied.makeCache(capacity: 8))
        #expect(logits.count == tied.configuration.vocabularySize && logits.allSatisfy(\.isFinite))
    }

    @Test("a GGUF of another architecture is refused by name")
    func wrongArchitecture() throws {
        let path = try LLMFixtures.generatedPath("broken-architecture.gguf")
        #expect {
            try Decoder(path: path)
        } throws: { error in
            guard case let ModelsError.unsupportedArchitecture(_, architecture, _) = error else { return false }
            return architecture == "mamba" && "\(error)".contains("mamba")
        }
    }

    @Test("a missing tensor is named")
    func missingTensor() throws {
        let path = try LLMFixtures.generatedPath("broken-missing.gguf")
        #expect(throws: ModelsError.missingTensor(file: path, tensor: "blk.0.ffn_down.weight")) {
            try Decoder(path: path)
        }
    }

    @Test("a mis-shaped tensor is named with both shapes")
    func misshapedTensor() throws {
        let path = try LLMFixtures.generatedPath("broken-shape.gguf")
        #expect(throws: ModelsError.tensorShapeMismatch(file: path, tensor: "blk.0.attn_k.weight", expected: [64, 32], found: [64, 64])) {
            try Decoder(path: path)
        }
    }

    @Test("a sequence longer than the cache is refused before any work")
    func contextOverflow() throws {
        let decoder = try Decoder(path: try LLMFixtures.modelPath("tiny-qwen2-q4_0"))
        let cache = decoder.makeCache(capacity: 8)
        #expect(throws: ModelsError.contextOverflow(requested: 9, capacity: 8)) {
            try decoder.forward(tokens: Array(repeating: 1, count: 9), cache: cache)
        }
        #expect(cache.count == 0)
        #expect(throws: ModelsError.tokenOutOfRange(token: 999_999, vocabularySize: decoder.configuration.vocabularySize)) {
            try decoder.forward(tokens: [999_999], cache: cache)
        }
    }

    @Test("embeddings input equals token input")
    func embeddingsInput() throws {
        let decoder = try Decoder(path: try LLMFixtures.modelPath("tiny-qwen2-f16"))
        let tokens: [Int32] = [3, 14, 15, 92]
        let viaTokens = try decoder.forward(tokens: tokens, cache: decoder.makeCache(capacity: 16))
        let viaEmbeddings = try decoder.forward(embeddings: try decoder.embed(tokens), cache: decoder.makeCache(capacity: 16))
        #expect(viaTokens == viaEmbeddings)
    }
}
