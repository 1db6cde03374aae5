#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Picks next tokens from logits according to ``SamplingParameters``; owns the seeded generator.
public struct Sampler: Sendable {
    /// The settings this sampler applies.
    public let parameters: SamplingParameters
    private var random: SamplerRandom

    /// A sampler whose generator starts from `parameters.seed`.
    public init(parameters: SamplingParameters) {
        self.parameters = parameters
        self.random = SamplerRandom(seed: parameters.seed)
    }

    /// Chooses a token id from `logits` (one per vocabulary entry) given the `history` of tokens
    /// seen so far (prompt and generated), used only by the repetition penalty.
    /// Returns the arg-max in greedy mode. `logits` must not be empty.
    public mutating func sample(logits: [Float], history: [Int32]) -> Int32 {
        if parameters.isGreedy && parameters.repetitionPenalty == 1 {
            return Int32(Sampler.argmax(logits))
        }
        var scores = logits
        applyRepetitionPenalty(&scores, history: history)
        if parameters.isGreedy { return Int32(Sampler.argmax(scores)) }

        // Candidates sorted by logit, best first (ties by id, for determinism).
        var candidates: [Int]
        let k = parameters.topK > 0 ? min(parameters.topK, scores.count) : scores.count
        if k < scores.count {
            candidates = Sampler.topIndices(scores, count: k)
        } else {
            candidates = Array(scores.indices)
            candidates.sort { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        }
        // Probabilities at temperature 1 decide top-p and min-p (llama.cpp applies temperature last).
        var probabilities = Sampler.softmax(candidates.map { scores[$0] }, temperature: 1)
        var keep = candidates.count
        if parameters.topP < 1 {
            var mass: Float = 0
            for (i, p) in probabilities.enumerated() {
                mass += p
                if mass >= parameters.topP { keep = i + 1; break }
            }
        }
        if parameters.minP > 0, let best = probabilities.first {
            let threshold = best * parameters.minP
            var count = 0
            while count < keep && probabilities[count] >= threshold { count += 1 }
            keep = max(1, count)
        }
        candidates = Array(candidates.prefix(keep))
        probabilities = Sampler.softmax(candidates.map { scores[$0] }, temperature: parameters.temperature)
        let draw = random.nextUnitFloat()
        var cumulative: Float = 0
        for (i, p) in probabilities.enumerated() {
            cumulative += p
            if draw < cumulative { return Int32(candidates[i]) }
        }
        return Int32(candidates[candidates.count - 1])
    }

    private func applyRepetitionPenalty(_ scores: inout [Float], history: [Int32]) {
        let penalty = parameters.repetitionPenalty
        guard penalty != 1, parameters.repetitionWindow != 0 else { return }
        let window = parameters.repetitionWindow < 0 ? history.count : min(parameters.repetitionWindow, history.count)
        var seen = Set<Int32>()
        for token in history.suffix(window) where seen.insert(token).inserted {
            let i = Int(token)
            guard scores.indices.contains(i) else { continue }
            scores[i] = scores[i] > 0 ? scores[i] / penalty : scores[i] * penalty
        }
    }

    /// Index of the largest value; the first one on ties.
    public static func argmax(_ values: [Float]) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for (i, v) in values.enumerated() where v > bestValue {
            best = i
            bestValue = v
        }
        return best
    }

    /// Indices of the `count` largest scores, best first (ties by lower index).
    static func topIndices(_ scores: [Float], count: Int) -> [Int] {
        var best: [Int] = []
        best.reserveCapacity(count + 1)
        for i in scores.indices {
            let v = scores[i]
            if best.count == count, let last = best.last, !(v > scores[last]) { continue }
            var lo = 0, hi = best.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if scores[best[mid]] >= v { lo = mid + 1 } else { hi = mid }
            }
            best.insert(i, at: lo)
            if best.count > count { best.removeLast() }
        }
        return best
    }

    static func softmax(_ logits: [Float], temperature: Float) -> [Float] {
        guard let maxLogit = logits.max() else { return [] }
        let t = temperature > 0 ? temperature : 1
        var out = logits.map { expf(($0 - maxLogit) / t) }
        let sum = out.reduce(0, +)
        for i in out.indices { out[i] /= sum }
        return out
    }
}
