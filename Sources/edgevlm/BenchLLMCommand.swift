import ArgumentParser
import Foundation
import Models

/// `edgevlm bench-llm`: llama-bench-style throughput of the language model alone
/// (pp: one batch of N random tokens from an empty cache; tg: N single-token steps from an empty cache).
struct BenchLLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-llm",
        abstract: "Measure prompt-processing and generation tokens/s of a GGUF language model (like llama-bench).")

    @Option(name: .shortAndLong, help: "Path of the GGUF language model.")
    var model: String

    @Option(name: [.customShort("p"), .long], help: "Prompt tokens for the pp test (0 skips it).")
    var promptTokens: Int = 512

    @Option(name: [.customShort("n"), .long], help: "Generated tokens for the tg test (0 skips it).")
    var generateTokens: Int = 128

    @Option(name: [.customShort("t"), .long], help: "Threads.")
    var threads: Int = 1

    @Option(name: [.customShort("r"), .long], help: "Repetitions (after one warm-up run).")
    var repetitions: Int = 3

    @Flag(help: "Use Kernels' default products (F32 SGEMM for large batches) instead of llama.cpp-compatible integer products.")
    var kernelsProducts = false

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let decoder = try Decoder(path: model, threadCount: threads,
                                  productMode: kernelsProducts ? .kernelsDefault : .llamaCompatible)
        let vocab = decoder.configuration.vocabularySize
        var rng = SystemRandomNumberGenerator()
        func randomTokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32.random(in: 0..<Int32(vocab), using: &rng) } }
        let capacity = max(promptTokens, generateTokens) + 1
        let cache = decoder.makeCache(capacity: capacity)
        func time(_ body: () throws -> Void) rethrows -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        func measure(_ body: () throws -> Void) rethrows -> [Double] {
            try body()
            return try (0..<repetitions).map { _ in try time(body) }
        }
        var results: [String: Double] = [:]
        if promptTokens > 0 {
            let tokens = randomTokens(promptTokens)
            let seconds = try measure {
                cache.reset()
                _ = try decoder.forward(tokens: tokens, cache: cache)
            }
            results["pp\(promptTokens)"] = Double(promptTokens) / (seconds.reduce(0, +) / Double(seconds.count))
        }
        if generateTokens > 0 {
            let tokens = randomTokens(generateTokens)
            let seconds = try measure {
                cache.reset()
                for t in tokens { _ = try decoder.forward(tokens: [t], cache: cache) }
            }
            results["tg\(generateTokens)"] = Double(generateTokens) / (seconds.reduce(0, +) / Double(seconds.count))
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: results.merging(["threads": Double(threads)]) { a, _ in a },
                                                  options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for (k, v) in results.sorted(by: { $0.key < $1.key }) {
                print("\(URL(fileURLWithPath: model).lastPathComponent) \(k) threads=\(threads): \(String(format: "%.2f", v)) tok/s")
            }
        }
    }
}
