import Backends
import Kernels
import Models

/// How a ``LanguageModel`` (and a ``VisionLanguageModel``) is loaded.
public struct LanguageModelOptions: Sendable, Equatable {
    /// Threads for matrix products and attention.
    public var threadCount: Int
    /// KV cache positions (nil: the model's training context, capped at 4096 like llama.cpp's CLI default).
    public var contextLength: Int?
    /// KV cache element type (F16 is llama.cpp's default).
    public var cacheType: KVCache.StorageType
    /// Backends in priority order (`cpu`, `delegate:/path/lib.so[,key=value...]`); the CPU is
    /// always last and takes whatever no accelerator claims.
    public var backends: [String]
    /// When an accelerator's run counts as failed, and how long a failing one is bypassed.
    public var fallbackPolicy: FallbackPolicy
    /// Record per-op wall time (``OpRouter/profile()``), also when only the CPU runs.
    public var profile: Bool
    /// Encode an image's slices side by side, one per thread (``ImageEncoder``). Faster with
    /// several threads; each extra lane holds one more slice's activations (~60 MiB at
    /// SigLIP-400M's 448×448). Results are identical either way.
    public var sliceLanes: Bool

    public init(threadCount: Int = 1, contextLength: Int? = nil, cacheType: KVCache.StorageType = .f16,
                backends: [String] = ["cpu"], fallbackPolicy: FallbackPolicy = FallbackPolicy(), profile: Bool = false,
                sliceLanes: Bool = true) {
        self.threadCount = threadCount
        self.contextLength = contextLength
        self.cacheType = cacheType
        self.backends = backends
        self.fallbackPolicy = fallbackPolicy
        self.profile = profile
        self.sliceLanes = sliceLanes
    }

    /// The op router these options describe: delegates loaded, placement ordered, CPU last.
    /// - Throws: ``RuntimeError/backend(_:)`` for an unknown backend form or a delegate that
    ///   cannot be loaded (missing file or symbol, ABI mismatch, init failure).
    public func makeRouter() throws -> OpRouter {
        let placement: BackendPlacement
        do {
            // The model's own CPU code is always passed to the router, so the CPU backend's
            // kernels (and their pool) only serve direct Backends users.
            placement = try BackendPlacement.fromConfiguration(backends, cpu: CPUBackend(pool: ThreadPool(threadCount: 1)))
        } catch {
            throw RuntimeError.backend(error.description)
        }
        return OpRouter(executor: FallbackExecutor(placement: placement, policy: fallbackPolicy), profiling: profile)
    }
}
