import Foundation
import GGUF
import Kernels
import Models
import Testing

/// Parity with llama.cpp (goldens from tools/goldens/make_llm_fixtures.py) on the tiny random-weight
/// files in MiniCPM-V 2.6 (qwen2) and 2.5 (llama) layouts.
@Suite("Decoder parity with llama.cpp")
struct DecoderParityTests {
    /// Relative L2 error bounds (total, worst row) on the logits, from measurement (2026-11-28,
    /// AVX-512 VNNI host, qwen2 / llama): F16 2.2e-4 / 2.2e-4 (worst rows 3.2e-4 / 3.5e-4);
    /// Q8_0 8.7e-4 / 1.9e-3 (4.5e-3 / 6.1e-3), and 0 / 0 since 2026-11-29 (`q8LogitsBitExact`);
    /// Q4_0 1.8e-3 / 1.4e-7 (7.1e-3 / 2.3e-7);
    /// Q4_K_M 7.8e-3 / 9.5e-3 (1.12e-2 / 1.21e-2).
    /// Before attention rounded its query and probabilities to fp16 as ggml's non-flash path does
    /// (`roundsLikeGGML`), Q8_0 was 8.1e-3, Q4_0 9.3e-3 and Q4_K_M 1.1e-2. What remains is float
    /// summation order (~1e-7 per product) that flips a few fp16 roundings of the softmax
    /// probabilities and then Q8_0/Q8_K roundings of the next activations, each flip worth a whole
    /// quantization step: it grows layer by layer, most on Q8_K (one scale per 256 values).
    /// For scale, llama.cpp's own Q8_0 logits differ from its F16 ones by 1.2e-2; on the
    /// realistic-size quantized files its AVX2 and AVX-512 builds differ from each other by
    /// 1.7-2.0e-2 (on these tiny files they agree to the bit; BENCHMARKS.md, Parity).
    static func tolerance(_ name: String) -> (total: Double, worstRow: Double) {
        if name.hasSuffix("f16") { return (5e-4, 1e-3) }
        if name.hasSuffix("q4_k_m") { return (1.3e-2, 1.8e-2) }
        return (4e-3, 1.2e-2)
    }

    /// Rows whose arg-max may differ: none, except near-ties on Q4_K_M (measured 1 of 24 on qwen2).
    static func argmaxSlack(_ name: String) -> Int {
        name.hasSuffix("q4_k_m") ? 2 : 0
    }

    /// Greedy identity holds on these (tiny-llama-q4_k_m too since the fp16 rounding fix); on
    /// tiny-qwen2-q4_k_m our greedy run still leaves llama.cpp's at token 31 of 32 (a near-tie
    /// after the residual above): reported, not hidden.
    static let greedyIdentical = LLMFixtures.names.filter { $0 != "tiny-qwen2-q4_k_m" }

    @Test("logits match llama.cpp within tolerance", arguments: LLMFixtures.names)
    func logits(name: String) throws {
        let golden = try LLMFixtures.golden(name)
        let expected = try LLMFixtures.goldenLogits(golden)
        let decoder = try Decoder(path: try LLMFixtures.modelPath(name), threadCount: 2)
        #expect(decoder.configuration.vocabularySize == golden.nVocab)
        let cache = decoder.makeCache(capacity: 128)
        let logits = try decoder.forward(tokens: golden.logitsTokens, cache: cache, logits: .all)
        #expect(logits.count == expected.count)
        let v = golden.nVocab
        var worst = 0.0
        var argmaxAgreement = 0
        for r in 0..<golden.logitsTokens.count {
            let row = logits[(r * v)..<((r + 1) * v)], ref = expected[(r * v)..<((r + 1) * v)]
            worst = max(worst, relativeL2(row, ref))
            if firstArgmax(row) == firstArgmax(ref) { argmaxAgreement += 1 }
        }
        let total = relativeL2(logits[...], expected[...])
        print("\(name): relative L2 total \(total), worst row \(worst), argmax agreement \(argmaxAgreement)/\(golden.logitsTokens.count)")
        #expect(total < Self.tolerance(name).total, "\(name): relative L2 \(total)")
        #expect(worst < Self.tolerance(name).worstRow, "\(name): worst row relative L2 \(worst)")
        #expect(argmaxAgreement >= golden.logitsTokens.count - Self.argmaxSlack(name))
    }

    /// Q8_0 (every product Q8_0 x Q8_0 in ggml's order, attention, norms, RoPE and SwiGLU as
    /// ggml computes them): the logits are llama.cpp's to the bit, on each x86 level (measured
    /// 2026-11-29: relative L2 0 on both files; 8.7e-4 / 1.9e-3 before the AVX-512 tiles kept
    /// ggml's order). Other types still differ in product order (BENCHMARKS.md, Parity).
    @Test("Q8_0 logits are llama.cpp's bit for bit", arguments: ["tiny-qwen2-q8_0", "tiny-llama-q8_0"])
    func q8LogitsBitExact(name: String) throws {
        let golden = try LLMFixtures.golden(name)
        let expected = try LLMFixtures.goldenLogits(golden)
        let levels = KernelsInfo.availableISAs.filter { $0 == .avx2 || $0 == .avx512VNNI }
        for isa in levels {
            try KernelsInfo.withISA(isa) { _ in
                let decoder = try Decoder(path: try LLMFixtures.modelPath(name), threadCount: 2)
                let cache = decoder.makeCache(capacity: 128)
                let logits = try decoder.forward(tokens: golden.logitsTokens, cache: cache, logits: .all)
                let differing = zip(logits, expected).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(name) at \(isa): \(differing) of \(logits.count) logits differ from llama.cpp's")
            }
        }
    }

    /// Decoding one token at a time (attention in ggml_vec_dot_f16's order, Q4_0 in its gemv
    /// order): every row that picks a greedy token is llama.cpp's to the bit. The goldens
    /// (tools/goldens/make_decode_goldens.py) come from llama.cpp built for AVX-512, so the check
    /// runs at that level; elsewhere it is skipped. The Q4_0 files' output weights are Q6_K,
    /// whose product order still differs (a last-layer rounding, 1e-7): those rows are held to
    /// 1e-6 instead of the bit.
    @Test("decode rows are llama.cpp's bit for bit (AVX-512)",
          arguments: ["tiny-qwen2-q8_0", "tiny-llama-q8_0", "tiny-qwen2-q4_0", "tiny-llama-q4_0"])
    func decodeRowsBitExact(name: String) throws {
        guard KernelsInfo.availableISAs.contains(.avx512VNNI) else { return }
        let golden = try LLMFixtures.golden(name)
        let url = LLMFixtures.fixtures.appendingPathComponent("\(name).decode.f32")
        let expected = try Data(contentsOf: url).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let v = golden.nVocab
        try #require(expected.count == golden.greedyTokens.count * v)
        try KernelsInfo.withISA(.avx512VNNI) { _ in
            let decoder = try Decoder(path: try LLMFixtures.modelPath(name), threadCount: 2)
            let cache = decoder.makeCache(capacity: 128)
            var row = try decoder.forward(tokens: golden.greedyPromptTokens, cache: cache)
            for (step, token) in golden.greedyTokens.enumerated() {
                let reference = expected[(step * v)..<((step + 1) * v)]
                if name.hasSuffix("q8_0") {
                    let differing = zip(row, reference).filter { $0.bitPattern != $1.bitPattern }.count
                    #expect(differing == 0, "\(name) step \(step): \(differing) logits differ")
                } else {
                    #expect(relativeL2(row[...], reference) < 1e-6, "\(name) step \(step)")
                }
                if step + 1 < golden.greedyTokens.count { row = try decoder.forward(tokens: [token], cache: cache) }
            }
        }
    }

    @Test("greedy 32 tokens identical to llama.cpp", arguments: greedyIdentical)
    func greedy(name: String) throws {
        let golden = try LLMFixtures.golden(name)
        let decoder = try Decoder(path: try LLMFixtures.modelPath(name), threadCount: 2)
        let cache = decoder.makeCache(capacity: 128)
        var logits = try decoder.forward(tokens: golden.greedyPromptTokens, cache: cache)
        var tokens: [Int32] = []
        for _ in 0..<golden.greedyTokens.count {
            let next = Int32(firstArgmax(logits[...]))
            tokens.append(next)
            logits = try decoder.forward(tokens: [next], cache: cache)
        }
        #expect(tokens == golden.greedyTokens)
    }
}
