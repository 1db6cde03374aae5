import Foundation

/// Runs blocking work (SQLite with fsync, file I/O, ioctl, child processes, inference) on a
/// thread of its own, so it never occupies a thread of Swift's small cooperative pool and never
/// waits for one either: a concurrent Dispatch queue on Linux is served by a pool as wide as the
/// CPU count, and on a 2-core device two long calls (an inference, a hung camera) would hold
/// every other blocking call — a capture timeout included — behind them.
enum BlockingWork {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.name = "edgevlm.blocking"
            thread.start()
        }
    }
}
