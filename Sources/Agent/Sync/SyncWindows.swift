import Foundation

/// The times of day (local wall-clock time) when the agent may use its uplink for bulk traffic:
/// result uploads, and model downloads on a metered link (`[sync] windows`).
///
/// A window is `"HH:MM-HH:MM"` (or with seconds, `"HH:MM:SS-HH:MM:SS"`), start inclusive, end
/// exclusive; a window whose end is not after its start wraps midnight (`"22:00-06:00"`), and
/// equal start and end mean the whole day. No windows at all means always open.
///
/// Times are wall-clock times read through a calendar in the given time zone, so a window means
/// the same clock reading on every day whatever the UTC offset (DST-agnostic): `"01:00-02:00"`
/// is one hour of local time, on a day when clocks change it may last 0 or 2 real hours.
struct SyncWindows: Sendable, Equatable {
    /// One window as seconds since local midnight.
    struct Window: Sendable, Equatable {
        let start: Int
        let end: Int

        /// True when the local time of day `second` (0..<86400) falls inside the window.
        func contains(secondOfDay second: Int) -> Bool {
            if start < end { return second >= start && second < end }
            if start == end { return true }
            return second >= start || second < end  // wraps midnight
        }
    }

    let windows: [Window]
    let timeZone: TimeZone

    /// Parses the configured strings. Throws `AgentError(.configuration)` naming `key` and the bad entry.
    init(parsing specs: [String], timeZone: TimeZone = .current, key: String = "sync.windows") throws {
        windows = try specs.map { spec in
            let parts = spec.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let start = Self.secondOfDay(parts[0]), let end = Self.secondOfDay(parts[1]) else {
                throw AgentError(.configuration, "a window is \"HH:MM-HH:MM\" in local time (e.g. \"22:00-06:00\"), not \"\(spec)\"", key: key)
            }
            return Window(start: start, end: end)
        }
        self.timeZone = timeZone
    }

    /// Always open.
    static let always = SyncWindows(windows: [], timeZone: .current)

    private init(windows: [Window], timeZone: TimeZone) {
        self.windows = windows
        self.timeZone = timeZone
    }

    /// True when there are no windows (no restriction).
    var isUnrestricted: Bool { windows.isEmpty }

    /// True when `date`'s local time of day lies in at least one window (or none are configured).
    func isOpen(at date: Date) -> Bool {
        if windows.isEmpty { return true }
        let second = secondOfDay(date)
        return windows.contains { $0.contains(secondOfDay: second) }
    }

    /// The first instant at or after `date` when a window is open: `date` itself when open now.
    /// Follows the calendar, so across a DST change it is the next real instant whose wall clock
    /// reaches a window start (a start skipped by a spring-forward gap opens at the first time after it).
    func nextOpening(after date: Date) -> Date {
        if isOpen(at: date) { return date }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let candidates = windows.compactMap { window -> Date? in
            var components = DateComponents()
            components.hour = window.start / 3600
            components.minute = window.start % 3600 / 60
            components.second = window.start % 60
            return calendar.nextDate(after: date, matching: components, matchingPolicy: .nextTime)
        }
        // A window exists, so the calendar always finds its start within a day; `date` is a safe fallback.
        return candidates.min() ?? date
    }

    private func secondOfDay(_ date: Date) -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.hour, .minute, .second], from: date)
        return (c.hour ?? 0) * 3600 + (c.minute ?? 0) * 60 + (c.second ?? 0)
    }

    /// "HH:MM" or "HH:MM:SS" → seconds since midnight; "24:00" is accepted as an end of day (= 0).
    private static func secondOfDay(_ text: Substring) -> Int? {
        let fields = text.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 2 || fields.count == 3,
              fields.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }),
              let hour = Int(fields[0]), let minute = Int(fields[1]) else { return nil }
        let second = fields.count == 3 ? Int(fields[2]) : 0
        guard let second, minute >= 0, minute < 60, second >= 0, second < 60, hour >= 0 else { return nil }
        if hour == 24 && minute == 0 && second == 0 { return 0 }
        guard hour < 24 else { return nil }
        return hour * 3600 + minute * 60 + second
    }
}

/// What the sync service may send right now, from `[sync] windows` and `[sync] metered`.
struct SyncLinkPolicy: Sendable, Equatable {
    let windows: SyncWindows
    let metered: Bool
    /// Results per upload call in force (smaller on a metered link).
    let batchSize: Int
    /// Least seconds between uploads woken by new results (longer on a metered link).
    let minUploadIntervalSeconds: Double

    /// Results per call on a metered link, at most.
    static let meteredBatchSize = 20
    /// Seconds between result-woken uploads on a metered link, at least.
    static let meteredMinUploadIntervalSeconds = 300.0

    init(sync: AgentConfiguration.Sync, timeZone: TimeZone = .current) throws {
        windows = try SyncWindows(parsing: sync.windows, timeZone: timeZone)
        metered = sync.metered
        batchSize = sync.metered ? min(sync.batchSize, Self.meteredBatchSize) : sync.batchSize
        minUploadIntervalSeconds = sync.metered
            ? max(sync.minUploadIntervalSeconds, Self.meteredMinUploadIntervalSeconds) : sync.minUploadIntervalSeconds
    }

    /// Results are uploaded only inside a window; heartbeats go on outside (they are small and
    /// keep revocation and the desired model current).
    func mayUploadResults(at date: Date) -> Bool { windows.isOpen(at: date) }

    /// Model downloads (hundreds of MB) wait for a window on a metered link; otherwise they may run any time.
    func mayDownloadModels(at date: Date) -> Bool { !metered || windows.isOpen(at: date) }
}
