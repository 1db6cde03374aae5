import Foundation

/// What one caption run produced.
public struct CaptionResult: Sendable, Equatable {
    public var text: String
    /// Generated tokens.
    public var tokens: Int
    /// Named stage durations in seconds (e.g. "vision", "prefill", "generate").
    public var timings: [String: Double]
    /// Which backend ran which stage, e.g. "vision=npu llm=cpu".
    public var placement: String
    /// Ops or stages an accelerator refused or failed at and the CPU computed instead.
    public var backendFallbacks: Int

    public init(text: String, tokens: Int, timings: [String: Double], placement: String, backendFallbacks: Int = 0) {
        self.text = text
        self.tokens = tokens
        self.timings = timings
        self.placement = placement
        self.backendFallbacks = backendFallbacks
    }
}

/// Why a caption failed; decides whether the job is retried.
public enum CaptionFailure: Error, Sendable, Equatable {
    /// The input is bad (not an image, truncated, too large to decode): fail that job alone,
    /// never retry.
    case badInput(String)
    /// A transient failure (out of memory, accelerator reset): retry with backoff.
    case transient(String)

    public var message: String {
        switch self {
        case .badInput(let m), .transient(let m): return m
        }
    }
}

/// The seam between the agent and inference: one loaded model that turns an image and a prompt
/// into text. The production implementation wraps the `Runtime` module; the agent loads it once
/// and calls it for every job.
public protocol CaptionEngine: Sendable {
    /// Digest of the loaded model pair (stored with every result).
    var modelDigest: String { get }
    /// Captions the encoded image (`JPEG`/`PNG` bytes) with `prompt`.
    /// Throws `CaptionFailure.badInput` for images that do not decode (the job fails without
    /// retry) and `CaptionFailure.transient` (or any other error) for failures worth retrying.
    func caption(image: Data, prompt: String) async throws -> CaptionResult
    /// Run-time health of each accelerator backend (empty when only the CPU runs): reported in
    /// heartbeats, where a rising fallback count is a rollout health signal.
    func backendHealth() -> [EngineBackendHealth]
}

extension CaptionEngine {
    public func backendHealth() -> [EngineBackendHealth] { [] }
}

/// One accelerator backend's counters as the agent reports them.
public struct EngineBackendHealth: Sendable, Codable, Equatable {
    public var name: String
    /// False while the backend is bypassed after repeated failures (its cool-down).
    public var healthy: Bool
    /// Ops the CPU computed instead (after a failure, or while bypassed) since the agent started.
    public var fallbacks: Int
    public var lastError: String

    public init(name: String, healthy: Bool, fallbacks: Int, lastError: String) {
        self.name = name
        self.healthy = healthy
        self.fallbacks = fallbacks
        self.lastError = lastError
    }
}
