import Models

/// How a ``LanguageModel`` is loaded.
public struct LanguageModelOptions: Sendable, Equatable {
    /// Threads for matrix products and attention.
    public var threadCount: Int
    /// KV cache positions (nil: the model's training context, capped at 4096 like llama.cpp's CLI default).
    public var contextLength: Int?
    /// KV cache element type (F16 is llama.cpp's default).
    public var cacheType: KVCache.StorageType

    public init(threadCount: Int = 1, contextLength: Int? = nil, cacheType: KVCache.StorageType = .f16) {
        self.threadCount = threadCount
        self.contextLength = contextLength
        self.cacheType = cacheType
    }
}
