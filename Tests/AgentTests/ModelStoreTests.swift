#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import Agent

/// The A/B store: install, switch, rollback, and recovery from what each interrupted step
/// leaves on disk.
@Suite("Model store")
struct ModelStoreTests {
    /// Stages two small files and installs them as a model into the inactive slot.
    static func install(_ store: ModelStore, digest: String, llm: String = "llm-bytes", mmproj: String = "mmproj-bytes") throws -> ModelStore.Slot {
        var files: [String: String] = [:]
        var records: [ModelSlotRecord.File] = []
        for (role, text) in [("llm", llm), ("mmproj", mmproj)] {
            let path = store.stagingDirectory + "/" + role + "-" + digest
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            files[role] = path
            records.append(.init(role: role, fileName: ModelStore.fileName(role: role), sizeBytes: Int64(text.utf8.count),
                                 sha256: ContentDigest.sha256Hex(Data(text.utf8))))
        }
        return try store.install(stagedFiles: files, record: ModelSlotRecord(modelDigest: digest, name: "m", version: digest, files: records))
    }

    @Test func installActivateRollback() throws {
        let store = try ModelStore(root: try ModelUpdateFixtures.temporaryDirectory("store"))
        #expect(store.activeModel() == nil)
        let first = try Self.install(store, digest: "one")
        #expect(first == .a)
        #expect(store.activeModel() == nil, "installing does not activate")
        try store.activate(first)
        #expect(store.activeModel()?.record.modelDigest == "one")
        #expect(try String(contentsOfFile: try #require(store.activeModel()).llmPath, encoding: .utf8) == "llm-bytes")

        let second = try Self.install(store, digest: "two", llm: "llm-2")
        #expect(second == .b, "a new model goes to the slot that is not active")
        try store.activate(second)
        #expect(store.activeModel()?.record.modelDigest == "two")
        #expect(try store.rollback() == .a)
        #expect(store.activeModel()?.record.modelDigest == "one")

        // A third model replaces the inactive slot (B), never the active one (A).
        #expect(try Self.install(store, digest: "three") == .b)
        #expect(store.activeModel()?.record.modelDigest == "one")
        #expect(store.record(of: .b)?.modelDigest == "three")
    }

    @Test func activatingAnIncompleteSlotIsRefused() throws {
        let store = try ModelStore(root: try ModelUpdateFixtures.temporaryDirectory("store"))
        #expect(throws: AgentError.self) { try store.activate(.b) }
        #expect(throws: AgentError.self) { try store.rollback() }
        try store.activate(try Self.install(store, digest: "one"))
        #expect(throws: AgentError.self) { try store.rollback() }
    }

    @Test func crashDuringInstallLeavesTheActiveModel() throws {
        let store = try ModelStore(root: try ModelUpdateFixtures.temporaryDirectory("store"))
        try store.activate(try Self.install(store, digest: "one"))
        // Crash point: files moved into B, slot.json not yet written.
        try Data("half".utf8).write(to: URL(fileURLWithPath: store.path(of: "llm", in: .b)))
        let recovery = try store.recover()
        #expect(recovery.clearedSlots == [.b])
        #expect(store.activeModel()?.record.modelDigest == "one")
        #expect((try FileManager.default.contentsOfDirectory(atPath: store.directory(of: .b))).isEmpty)

        // A record is present but a file was cut short (power loss before the data reached disk).
        _ = try Self.install(store, digest: "two")
        try Data("x".utf8).write(to: URL(fileURLWithPath: store.path(of: "mmproj", in: .b)))
        #expect(store.record(of: .b) == nil)
        #expect(try store.recover().clearedSlots == [.b])
        #expect(store.activeModel()?.record.modelDigest == "one")
    }

    @Test func crashDuringSwitchEndsOnOldOrNew() throws {
        let root = try ModelUpdateFixtures.temporaryDirectory("store")
        let store = try ModelStore(root: root)
        try store.activate(try Self.install(store, digest: "one"))
        _ = try Self.install(store, digest: "two")
        // Crash point: the new link made, not yet renamed over `active`.
        #expect(symlink("B", root + "/active.tmp") == 0)
        let reopened = try ModelStore(root: root)
        let recovery = try reopened.recover()
        #expect(recovery.removedPendingSwitch)
        #expect(reopened.activeModel()?.record.modelDigest == "one")
        #expect(reopened.record(of: .b)?.modelDigest == "two", "the complete new slot is kept for the next try")
        // After the rename the new model runs.
        try reopened.activate(.b)
        #expect(try ModelStore(root: root).activeModel()?.record.modelDigest == "two")
    }

    @Test func activeNamingADamagedSlotFallsBack() throws {
        let root = try ModelUpdateFixtures.temporaryDirectory("store")
        let store = try ModelStore(root: root)
        try store.activate(try Self.install(store, digest: "one"))
        try store.activate(try Self.install(store, digest: "two"))
        unlink(store.directory(of: .b) + "/slot.json")
        let recovery = try store.recover()
        #expect(recovery.repairedActive)
        #expect(store.activeModel()?.record.modelDigest == "one")
    }
}
