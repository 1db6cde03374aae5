#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where the queue reads time. Leases and retry delays use the monotonic reading plus the boot
/// id, so a wall-clock jump (NTP settling on a device without RTC) cannot expire or extend a
/// lease, and a reboot (new boot id) makes every old lease and delay void. Wall time is only
/// recorded for people (created/started/finished) and for retention by age.
public protocol JobQueueClock: Sendable {
    /// Nanoseconds on a clock that never jumps and keeps counting through suspend.
    func monotonicNanoseconds() -> UInt64
    /// An identifier of the current boot; changes at every reboot.
    var bootID: String { get }
    /// Seconds since 1970 (may jump).
    func wallSeconds() -> Double
}

/// The real clock: `CLOCK_BOOTTIME` and `/proc/sys/kernel/random/boot_id`.
public struct SystemJobQueueClock: JobQueueClock {
    public let bootID: String

    /// Reads the boot id once. Where /proc is unavailable, a random id per process is used, which
    /// makes every lease of an earlier process look stale (safe: jobs are re-run, never lost).
    public init() {
        let raw = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) ?? ""
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        bootID = trimmed.isEmpty ? "process-\(UUID().uuidString)" : trimmed
    }

    public func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_BOOTTIME, &spec)
        #else
        clock_gettime(CLOCK_MONOTONIC, &spec)
        #endif
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    public func wallSeconds() -> Double { Date().timeIntervalSince1970 }
}
