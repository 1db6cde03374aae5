import Foundation
import Runtime
import Testing

@Suite("Sampler")
struct SamplerTests {
    static let logits: [Float] = [1.0, 3.0, 2.5, -1.0, 3.0, 0.5, 2.9, -4.0]

    @Test("greedy is the first arg-max")
    func greedy() {
        var sampler = Sampler(parameters: .greedy)
        #expect(sampler.sample(logits: Self.logits, history: []) == 1)
        #expect(Sampler.argmax([0, 2, 2, 1]) == 1)
    }

    @Test("top-k 1 equals greedy at any temperature")
    func topKOne() {
        var sampler = Sampler(parameters: SamplingParameters(temperature: 5, topK: 1, seed: 9))
        for _ in 0..<50 { #expect(sampler.sample(logits: Self.logits, history: []) == 1) }
    }

    @Test("the same seed gives the same tokens; another seed differs")
    func seeded() {
        func run(_ seed: UInt64) -> [Int32] {
            var sampler = Sampler(parameters: SamplingParameters(temperature: 1.5, seed: seed))
            return (0..<64).map { _ in sampler.sample(logits: Self.logits, history: []) }
        }
        #expect(run(42) == run(42))
        #expect(run(42) != run(43))
    }

    @Test("temperature sampling follows the softmax distribution")
    func distribution() {
        let t: Float = 0.8
        var sampler = Sampler(parameters: SamplingParameters(temperature: t, seed: 1))
        var counts = [Int](repeating: 0, count: Self.logits.count)
        let n = 20_000
        for _ in 0..<n { counts[Int(sampler.sample(logits: Self.logits, history: []))] += 1 }
        let m = Self.logits.max()!
        let e = Self.logits.map { exp(Double(($0 - m) / t)) }
        let z = e.reduce(0, +)
        for i in counts.indices {
            let p = e[i] / z
            let sd = (p * (1 - p) / Double(n)).squareRoot()
            #expect(abs(Double(counts[i]) / Double(n) - p) < 5 * sd + 1e-4, "token \(i)")
        }
    }

    @Test("top-p keeps the smallest set reaching the mass; min-p drops unlikely tokens")
    func nucleusAndMinP() {
        // Probabilities at T=1: token 0 ≈ 0.64, 1 ≈ 0.24, rest small.
        let logits: [Float] = [3, 2, 0, 0, -1]
        var topP = Sampler(parameters: SamplingParameters(temperature: 1, topP: 0.7, seed: 3))
        var minP = Sampler(parameters: SamplingParameters(temperature: 1, minP: 0.3, seed: 3))
        var seenTopP = Set<Int32>(), seenMinP = Set<Int32>()
        for _ in 0..<2000 {
            seenTopP.insert(topP.sample(logits: logits, history: []))
            seenMinP.insert(minP.sample(logits: logits, history: []))
        }
        #expect(seenTopP == [0, 1])
        #expect(seenMinP == [0, 1])
    }

    @Test("repetition penalty demotes recent tokens only within the window")
    func repetitionPenalty() {
        let logits: [Float] = [2.0, 1.9, -3.0]
        var penalized = Sampler(parameters: SamplingParameters(temperature: 0, repetitionPenalty: 1.1, repetitionWindow: 2))
        #expect(penalized.sample(logits: logits, history: [0]) == 1)       // 2.0/1.1 < 1.9
        #expect(penalized.sample(logits: logits, history: [0, 2, 2]) == 0) // token 0 fell out of the window
        var plain = Sampler(parameters: .greedy)
        #expect(plain.sample(logits: logits, history: [0]) == 0)
    }

    @Test("the reference sampled defaults are MiniCPM-V's")
    func defaults() {
        let p = SamplingParameters.sampled(seed: 5)
        #expect(p.topP == 0.8 && p.topK == 100 && p.temperature == 0.7 && p.repetitionPenalty == 1.05 && p.seed == 5)
        #expect(SamplingParameters.greedy.isGreedy)
    }
}
