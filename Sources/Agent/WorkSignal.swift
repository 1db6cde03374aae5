import Foundation

/// Wakes idle workers when a job is enqueued, so they need not poll quickly. Thread-safe.
final class WorkSignal: @unchecked Sendable {
    // @unchecked: `waiters` and `pending` are only touched under `lock`.
    private let lock = NSLock()
    private var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    private var pending = false

    /// Wakes every waiting worker (or the next one to wait).
    func signal() {
        let woken: [CheckedContinuation<Void, Never>] = lock.withLock {
            if waiters.isEmpty { pending = true }
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Waits until `signal()` or `timeout`, whichever comes first.
    func wait(timeout: Duration) async {
        let id = UUID()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow: Bool = self.lock.withLock {
                        if self.pending { self.pending = false; return true }
                        self.waiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            // Whichever finished first, release the other.
            let continuation = self.lock.withLock { self.waiters.removeValue(forKey: id) }
            continuation?.resume()
            group.cancelAll()
        }
    }
}
