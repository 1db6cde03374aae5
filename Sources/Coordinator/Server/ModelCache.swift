import Synchronization

/// Registered models by digest, kept in memory after the first read. Safe across coordinator
/// processes because a model is content-addressed and never changes once stored (`putModel`
/// ignores a second upload of the same digest); only found models are kept, so a model
/// registered later by another process is read from the store when first asked for.
final class ModelCache: Sendable {
    /// Models beyond this many are not kept (a fleet runs a handful; this only bounds memory).
    static let capacity = 256
    private let models = Mutex([String: ModelRecord]())

    /// The model with `digest`, from memory or else from `load` (which throws what the store throws).
    func model(digest: String, load: (String) async throws -> ModelRecord?) async throws -> ModelRecord? {
        if let cached = models.withLock({ $0[digest] }) { return cached }
        guard let loaded = try await load(digest) else { return nil }
        models.withLock { models in
            if models.count < Self.capacity { models[digest] = loaded }
        }
        return loaded
    }
}
