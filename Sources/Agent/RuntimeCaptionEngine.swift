import Crypto
import Foundation
import Imaging
import Kernels
import Runtime

/// The production caption engine: a MiniCPM-V model pair loaded once through the `Runtime`
/// module (weights memory-mapped), answering one image and prompt per call.
public final class RuntimeCaptionEngine: CaptionEngine, @unchecked Sendable {
    private let model: VisionLanguageModel
    private let maxTokens: Int
    private let maxImagePixels: Int
    /// `sha256(llm):sha256(mmproj)`, so results name exactly the files that made them.
    public let modelDigest: String

    /// Loads the pair named by `configuration` (slow: hashes both files and maps the weights),
    /// with the configured backends (delegates loaded now; ops placed at first use).
    /// - Throws: `AgentError(.engineUnavailable)` naming the file when a model or a configured
    ///   delegate cannot be loaded.
    public init(configuration: AgentConfiguration.Model, maxImagePixels: Int = 89_478_485) throws {
        let threads = configuration.threads > 0 ? configuration.threads : ThreadPool.defaultThreadCount
        do {
            model = try VisionLanguageModel(modelPath: configuration.llm, mmprojPath: configuration.mmproj,
                                            options: LanguageModelOptions(threadCount: threads, backends: configuration.backends))
        } catch {
            throw AgentError(.engineUnavailable, "cannot load the model pair: \(error)", path: configuration.llm)
        }
        maxTokens = configuration.maxTokens
        self.maxImagePixels = maxImagePixels
        modelDigest = try [configuration.llm, configuration.mmproj].map(Self.fileDigest).joined(separator: ":")
    }

    public func caption(image: Data, prompt: String) async throws -> CaptionResult {
        let model = self.model
        let options = CaptionOptions(generation: GenerationOptions(maxTokens: maxTokens),
                                     decoding: ImageDecodingOptions(maxPixelCount: maxImagePixels))
        let decoded: RGBImage
        do {
            decoded = try ImageDecoder.decode(image, source: "job image", options: options.decoding)
        } catch {
            throw CaptionFailure.badInput("\(error)")
        }
        let fallbacksBefore = totalFallbacks()
        let result = try await BlockingWork.run {
            try model.caption(images: [decoded], prompt: prompt, options: options)
        }
        return CaptionResult(
            text: result.text, tokens: result.tokens.count,
            timings: ["encode": result.encodeWallSeconds, "prefill": result.generation.promptSeconds,
                      "generate": result.generation.generateSeconds],
            placement: model.router.placementSummary(),
            // Counted over the call: with several workers it may include a concurrent job's.
            backendFallbacks: totalFallbacks() - fallbacksBefore)
    }

    private func totalFallbacks() -> Int { backendHealth().reduce(0) { $0 + $1.fallbacks } }

    public func backendHealth() -> [EngineBackendHealth] {
        model.router.health().filter { $0.backend != "cpu" }.map {
            EngineBackendHealth(name: $0.backend, healthy: !$0.unhealthy, fallbacks: $0.fallbacks + $0.bypassed,
                                lastError: $0.lastError ?? "")
        }
    }

    /// SHA-256 of a file, streamed (model files are large).
    static func fileDigest(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw AgentError(.engineUnavailable, "cannot read the model file", path: path)
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
