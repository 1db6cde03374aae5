import Foundation
import Testing
@testable import Agent

/// `[sync] windows` and `metered`: parsing, open/closed at given local times, next opening.
@Suite("Sync windows")
struct SyncWindowsTests {
    static let utc = TimeZone(identifier: "UTC") ?? .current
    static let berlin = TimeZone(identifier: "Europe/Berlin") ?? .current

    /// The instant whose wall clock in `zone` reads the given date and time.
    static func local(_ zone: TimeZone, _ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int = 0) throws -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return try #require(calendar.date(from: DateComponents(year: y, month: mo, day: d, hour: h, minute: mi, second: s)))
    }

    @Test func noWindowsIsAlwaysOpen() throws {
        let w = try SyncWindows(parsing: [], timeZone: Self.utc)
        let t = try Self.local(Self.utc, 2026, 3, 1, 13, 7)
        #expect(w.isOpen(at: t) && w.nextOpening(after: t) == t && w.isUnrestricted)
    }

    @Test func windowWrappingMidnight() throws {
        let w = try SyncWindows(parsing: ["22:00-06:00"], timeZone: Self.utc)
        #expect(try w.isOpen(at: Self.local(Self.utc, 2026, 5, 1, 23, 30)))
        #expect(try w.isOpen(at: Self.local(Self.utc, 2026, 5, 2, 0, 0)))
        #expect(try w.isOpen(at: Self.local(Self.utc, 2026, 5, 2, 5, 59, 59)))
        #expect(try !w.isOpen(at: Self.local(Self.utc, 2026, 5, 2, 6, 0)))  // end is exclusive
        #expect(try !w.isOpen(at: Self.local(Self.utc, 2026, 5, 2, 21, 59, 59)))
        #expect(try w.isOpen(at: Self.local(Self.utc, 2026, 5, 2, 22, 0)))  // start is inclusive
        let noon = try Self.local(Self.utc, 2026, 5, 2, 12, 0)
        #expect(try w.nextOpening(after: noon) == Self.local(Self.utc, 2026, 5, 2, 22, 0))
    }

    @Test func severalWindowsPickTheNearestOpening() throws {
        let w = try SyncWindows(parsing: ["22:00-06:00", "12:00-13:30", "18:15:30-18:20"], timeZone: Self.utc)
        #expect(try w.isOpen(at: Self.local(Self.utc, 2026, 5, 2, 13, 29)))
        #expect(try !w.isOpen(at: Self.local(Self.utc, 2026, 5, 2, 13, 30)))
        #expect(try w.isOpen(at: Self.local(Self.utc, 2026, 5, 2, 18, 15, 30)))
        #expect(try w.nextOpening(after: Self.local(Self.utc, 2026, 5, 2, 7, 0)) == Self.local(Self.utc, 2026, 5, 2, 12, 0))
        #expect(try w.nextOpening(after: Self.local(Self.utc, 2026, 5, 2, 14, 0)) == Self.local(Self.utc, 2026, 5, 2, 18, 15, 30))
        #expect(try w.nextOpening(after: Self.local(Self.utc, 2026, 5, 2, 18, 20)) == Self.local(Self.utc, 2026, 5, 2, 22, 0))
    }

    @Test func nextOpeningCrossesToTheNextDay() throws {
        let w = try SyncWindows(parsing: ["02:00-03:00"], timeZone: Self.utc)
        #expect(try w.nextOpening(after: Self.local(Self.utc, 2026, 12, 31, 3, 0)) == Self.local(Self.utc, 2027, 1, 1, 2, 0))
    }

    @Test func equalStartAndEndIsTheWholeDay() throws {
        let w = try SyncWindows(parsing: ["05:00-05:00"], timeZone: Self.utc)
        #expect(try w.isOpen(at: Self.local(Self.utc, 2026, 5, 2, 4, 59)))
    }

    /// Windows follow the local wall clock on both sides of a DST change (Berlin: +01:00 in
    /// winter, +02:00 in summer; clocks jumped 02:00 → 03:00 on 2026-03-29).
    @Test func localWallClockAcrossDST() throws {
        let w = try SyncWindows(parsing: ["22:00-06:00"], timeZone: Self.berlin)
        let winter = try Self.local(Self.berlin, 2026, 1, 15, 22, 30)
        let summer = try Self.local(Self.berlin, 2026, 7, 15, 22, 30)
        #expect(w.isOpen(at: winter) && w.isOpen(at: summer))
        // 21:30 UTC is 22:30 in winter Berlin (open) but 23:30 in summer; 04:30 UTC is 05:30 (open) vs 06:30 (closed).
        #expect(try w.isOpen(at: Self.local(Self.utc, 2026, 1, 15, 21, 30)))
        #expect(try w.isOpen(at: Self.local(Self.utc, 2026, 1, 16, 4, 30)))
        #expect(try !w.isOpen(at: Self.local(Self.utc, 2026, 7, 16, 4, 30)))
        // The night of the change: the window still closes at 06:00 local, which is 04:00 UTC.
        #expect(try w.nextOpening(after: Self.local(Self.utc, 2026, 3, 29, 4, 0)) == Self.local(Self.berlin, 2026, 3, 29, 22, 0))
        #expect(try w.isOpen(at: Self.local(Self.utc, 2026, 3, 29, 3, 59)))
        #expect(try !w.isOpen(at: Self.local(Self.utc, 2026, 3, 29, 4, 0)))
        // A window starting inside the skipped hour opens at the first instant after the gap.
        let gap = try SyncWindows(parsing: ["02:30-04:00"], timeZone: Self.berlin)
        let opening = try gap.nextOpening(after: Self.local(Self.utc, 2026, 3, 28, 23, 0))
        #expect(gap.isOpen(at: opening))
        #expect(try opening <= Self.local(Self.utc, 2026, 3, 29, 1, 30))  // 03:30 CEST at the latest
        #expect(try opening >= Self.local(Self.utc, 2026, 3, 29, 1, 0))   // not before the jump to 03:00 CEST
    }

    @Test(arguments: ["22-06", "22:00", "25:00-06:00", "22:60-06:00", "2:00-06:00", "22:00-06:00-07:00", "aa:bb-cc:dd", ""])
    func rejectsMalformedWindows(spec: String) throws {
        #expect(throws: AgentError.self) { try SyncWindows(parsing: [spec], timeZone: Self.utc) }
        let error = try #require(throws: AgentError.self) {
            try AgentConfiguration.parse(toml: "[sync]\nwindows = [\"\(spec)\"]\n")
        }
        #expect(error.key == "sync.windows")
    }

    @Test func configurationKeysAndMeteredPolicy() throws {
        let c = try AgentConfiguration.parse(toml: """
            [sync]
            windows = ["22:00-06:00", "12:00-12:30"]
            metered = true
            batch_size = 100
            min_upload_interval_seconds = 5
            """)
        #expect(c.sync.windows == ["22:00-06:00", "12:00-12:30"] && c.sync.metered)
        let metered = try SyncLinkPolicy(sync: c.sync, timeZone: Self.utc)
        #expect(metered.batchSize == SyncLinkPolicy.meteredBatchSize && metered.minUploadIntervalSeconds == SyncLinkPolicy.meteredMinUploadIntervalSeconds)
        let day = try Self.local(Self.utc, 2026, 5, 2, 15, 0)
        let night = try Self.local(Self.utc, 2026, 5, 2, 23, 0)
        #expect(!metered.mayUploadResults(at: day) && metered.mayUploadResults(at: night))
        #expect(!metered.mayDownloadModels(at: day) && metered.mayDownloadModels(at: night))

        var unmetered = c.sync
        unmetered.metered = false
        let plain = try SyncLinkPolicy(sync: unmetered, timeZone: Self.utc)
        #expect(plain.batchSize == 100 && plain.minUploadIntervalSeconds == 5)
        #expect(plain.mayDownloadModels(at: day) && !plain.mayUploadResults(at: day))
    }
}
