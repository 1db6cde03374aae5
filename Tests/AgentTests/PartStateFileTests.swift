import Foundation
import Testing
@testable import Agent

/// The in-place resume record of a download: the newest intact slot wins, a slot damaged by a
/// torn write falls back to the previous checkpoint, the old one-record format still reads.
@Suite("Download resume record")
struct PartStateFileTests {
    typealias State = ModelDownloader.PartState

    @Test func theNewestIntactSlotWinsAndATornOneFallsBack() throws {
        let directory = try ModelUpdateFixtures.temporaryDirectory("partstate")
        let path = directory + "/blob.part.json"
        let file = try PartStateFile(path: path, state: State(blob: "blob", size: 1000, durableBytes: 0))
        try file.write(State(blob: "blob", size: 1000, durableBytes: 300))
        try file.write(State(blob: "blob", size: 1000, durableBytes: 600))
        file.close()
        #expect(PartStateFile.load(path: path) == State(blob: "blob", size: 1000, durableBytes: 600))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.size] as? Int) == 2 * PartStateFile.slotBytes, "two slots, written in place")

        // Damage the newest slot's number (a torn write): the previous checkpoint is used.
        var data = try #require(FileManager.default.contents(atPath: path))
        let newest = try #require(data.range(of: Data(#""durableBytes":600"#.utf8)))
        data.replaceSubrange(newest, with: Data(#""durableBytes":900"#.utf8))
        try data.write(to: URL(fileURLWithPath: path))
        #expect(PartStateFile.load(path: path) == State(blob: "blob", size: 1000, durableBytes: 300))
    }

    @Test func theOneRecordFormatStillReads() throws {
        let directory = try ModelUpdateFixtures.temporaryDirectory("partstate")
        let path = directory + "/blob.part.json"
        try Data(#"{"blob":"blob","size":1000,"durableBytes":400}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(PartStateFile.load(path: path) == State(blob: "blob", size: 1000, durableBytes: 400))
    }
}
