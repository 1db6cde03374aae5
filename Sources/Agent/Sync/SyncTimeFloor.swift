import Foundation

/// A lower bound on the true wall-clock time, learned from the coordinator's
/// `server_time_unix_ms` (as balena's supervisor does). A device that boots with its clock in
/// 1970, or hours behind, still stamps sync state with a plausible time: `now()` is the larger
/// of the system clock and the last server time plus the monotonic time elapsed since it was
/// seen. The floor is persisted (`<state>/sync/time-floor`), so it also holds after a reboot
/// before the first contact. Thread-safe.
public final class SyncTimeFloor: @unchecked Sendable {
    // @unchecked: `floorMs` and `observedAt` are only touched under `lock`.
    private let lock = NSLock()
    private var floorMs: Int64
    private var observedAt: ContinuousClock.Instant
    private let path: String?
    private let systemNowMs: @Sendable () -> Int64

    /// Loads the floor stored at `path` (0 when absent or unreadable). `path` nil keeps it in memory.
    public init(path: String?, systemNowMs: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.path = path
        self.systemNowMs = systemNowMs
        let stored = path.flatMap { FileManager.default.contents(atPath: $0) }
            .flatMap { Int64(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) }
        floorMs = stored ?? 0
        observedAt = .now
    }

    /// The floor alone, advanced by the monotonic time since it was observed.
    public var floorNowMs: Int64 {
        lock.withLock {
            guard floorMs > 0 else { return 0 }
            let elapsed = ContinuousClock.now - observedAt
            return floorMs + elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        }
    }

    /// Best estimate of the wall clock (Unix ms): never behind the floor.
    public func nowMs() -> Int64 { max(systemNowMs(), floorNowMs) }

    /// True when the system clock is behind the floor by more than `toleranceMs` (the device
    /// clock is wrong; TLS validity checks use the system clock, see README "Sync").
    public func systemClockIsBehind(toleranceMs: Int64 = 60_000) -> Bool {
        let floor = floorNowMs
        return floor > 0 && systemNowMs() + toleranceMs < floor
    }

    /// Raises the floor to a coordinator's time (ignores 0 and values behind the floor) and
    /// persists it. A failed write only costs the floor across a reboot, so it is not thrown.
    public func observe(serverTimeMs: Int64) {
        guard serverTimeMs > 0 else { return }
        let raised: Bool = lock.withLock {
            let elapsed = ContinuousClock.now - observedAt
            let current = floorMs + elapsed.components.seconds * 1000
            guard floorMs == 0 || serverTimeMs > current else { return false }
            floorMs = serverTimeMs
            observedAt = .now
            return true
        }
        if raised, let path {
            try? DurableFiles.write(Data("\(serverTimeMs)\n".utf8), to: path)
        }
    }
}
