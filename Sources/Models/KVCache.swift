/// Keys and values of every layer for the positions processed so far (one sequence).
///
/// Rows are stored per layer as `[capacity][kvWidth]` in F16 (llama.cpp's default cache type) or
/// F32. `count` positions are valid; ``truncate(to:)`` drops the tail so a new request can reuse a
/// shared prefix without recomputing it. Not thread-safe: one generation at a time owns a cache.
public final class KVCache: @unchecked Sendable {
    /// Element type of the stored rows.
    public enum StorageType: String, Sendable, CaseIterable {
        case f16, f32

        var byteWidth: Int { self == .f16 ? 2 : 4 }
    }

    /// Maximum number of positions.
    public let capacity: Int
    /// Number of layers.
    public let layerCount: Int
    /// Elements per key (and value) row: kv heads × head width.
    public let kvWidth: Int
    public let storageType: StorageType
    /// Positions currently held (the next token goes at position `count`).
    public private(set) var count: Int = 0
    /// The tokens whose keys/values are held (when known; embeddings inputs store -1).
    public private(set) var tokens: [Int32] = []

    let keys: [UnsafeMutableRawPointer]
    let values: [UnsafeMutableRawPointer]

    /// Allocates an empty cache. `capacity`, `layerCount` and `kvWidth` must be positive.
    public init(capacity: Int, layerCount: Int, kvWidth: Int, storageType: StorageType = .f16) {
        self.capacity = capacity
        self.layerCount = layerCount
        self.kvWidth = kvWidth
        self.storageType = storageType
        let bytes = capacity * kvWidth * storageType.byteWidth
        keys = (0..<layerCount).map { _ in UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64) }
        values = (0..<layerCount).map { _ in UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64) }
    }

    deinit {
        keys.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }

    /// Bytes allocated for keys and values.
    public var byteCount: Int { 2 * layerCount * capacity * kvWidth * storageType.byteWidth }

    /// Forgets positions from `newCount` on (no-op if `newCount >= count`).
    public func truncate(to newCount: Int) {
        guard newCount < count else { return }
        count = max(0, newCount)
        tokens.removeLast(tokens.count - count)
    }

    /// Forgets everything.
    public func reset() { truncate(to: 0) }

    /// Length of the longest common prefix of `sequence` and the cached tokens.
    public func commonPrefixLength(with sequence: [Int32]) -> Int {
        var n = 0
        while n < tokens.count, n < sequence.count, tokens[n] == sequence[n], tokens[n] >= 0 { n += 1 }
        return n
    }

    /// Marks `newTokens.count` more positions valid (their rows were written by the decoder).
    func commit(_ newTokens: [Int32]) {
        tokens += newTokens
        count += newTokens.count
    }

    /// Writes one key and value row (`kvWidth` floats each) at `position` of `layer`.
    func store(layer: Int, position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        switch storageType {
        case .f16:
            let k = keys[layer].assumingMemoryBound(to: Float16.self) + position * kvWidth
            let v = values[layer].assumingMemoryBound(to: Float16.self) + position * kvWidth
            for i in 0..<kvWidth {
                k[i] = Float16(key[i])
                v[i] = Float16(value[i])
            }
        case .f32:
            let k = keys[layer].assumingMemoryBound(to: Float.self) + position * kvWidth
            let v = values[layer].assumingMemoryBound(to: Float.self) + position * kvWidth
            k.update(from: key, count: kvWidth)
            v.update(from: value, count: kvWidth)
        }
    }
}
