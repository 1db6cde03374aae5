import Dispatch

/// Runs blocking work (SQLite with fsync, file I/O, ioctl) on a Dispatch queue so it never
/// occupies a thread of Swift's small cooperative pool.
enum BlockingWork {
    private static let queue = DispatchQueue(label: "edgevlm.agent.blocking", attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
