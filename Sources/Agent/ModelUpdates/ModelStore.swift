#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The device's model store (issue 9 item 1): `<state>/models/{A,B,staging}` and an `active`
/// symlink naming the slot the worker runs.
///
/// Invariants that make every step safe to interrupt by power loss:
/// - a slot is complete only while its `slot.json` exists; it is written (durably) after every
///   file is in place and is removed first (durably) before a slot is reused;
/// - a new model is only ever installed into the slot that is *not* active;
/// - `active` is switched by renaming a fresh symlink over it and fsyncing the folder, so it
///   names either the old or the new slot, never neither.
/// `recover()` at startup removes what an interrupted step left behind.
public struct ModelStore: Sendable {
    /// One of the two slots.
    public enum Slot: String, Sendable, Codable, CaseIterable {
        case a = "A"
        case b = "B"
        /// The other slot.
        public var other: Slot { self == .a ? .b : .a }
    }

    /// The active model: its slot, record and file paths.
    public struct ActiveModel: Sendable, Equatable {
        public var slot: Slot
        public var record: ModelSlotRecord
        public var llmPath: String
        public var mmprojPath: String
    }

    /// What `recover()` found and cleaned.
    public struct Recovery: Sendable, Equatable {
        /// Slots whose incomplete contents were removed.
        public var clearedSlots: [Slot] = []
        /// A leftover half-made switch (`active.tmp`) was removed.
        public var removedPendingSwitch = false
        /// `active` named an incomplete slot and was moved to the other (complete) one, or removed.
        public var repairedActive = false
    }

    static let recordName = "slot.json"
    static let activeName = "active"

    /// `<state>/models`.
    public let root: String

    /// A store rooted at `root`; creates the folders when missing. Throws `AgentError.io`.
    public init(root: String) throws {
        self.root = root
        for directory in [root, root + "/A", root + "/B", root + "/staging"] {
            try DurableFiles.makeDirectory(directory)
        }
    }

    /// The store of the agent whose state directory is `stateDirectory`.
    public init(stateDirectory: String) throws { try self.init(root: stateDirectory + "/models") }

    public var stagingDirectory: String { root + "/staging" }
    public func directory(of slot: Slot) -> String { root + "/" + slot.rawValue }
    /// Path a file with `role` has inside a slot.
    public func path(of role: String, in slot: Slot) -> String { directory(of: slot) + "/" + Self.fileName(role: role) }
    /// The file name a role is stored under.
    public static func fileName(role: String) -> String { role + ".gguf" }

    /// The slot's record when the slot is complete (record readable, files present with their
    /// recorded sizes), else nil.
    public func record(of slot: Slot) -> ModelSlotRecord? {
        let path = directory(of: slot) + "/" + Self.recordName
        guard let data = FileManager.default.contents(atPath: path),
              let record = try? JSONDecoder().decode(ModelSlotRecord.self, from: data) else { return nil }
        for file in record.files {
            var info = stat()
            guard stat(directory(of: slot) + "/" + file.fileName, &info) == 0, Int64(info.st_size) == file.sizeBytes else {
                return nil
            }
        }
        return record
    }

    /// The slot `active` names, whether or not it is complete.
    func activeLinkTarget() -> Slot? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: root + "/" + Self.activeName) else {
            return nil
        }
        return Slot(rawValue: target)
    }

    /// The active slot when it is complete, else nil.
    public func activeSlot() -> Slot? {
        guard let slot = activeLinkTarget(), record(of: slot) != nil else { return nil }
        return slot
    }

    /// The active model, or nil when the store has none (the configured paths apply then).
    public func activeModel() -> ActiveModel? {
        guard let slot = activeSlot(), let record = record(of: slot),
              let llm = record.file(role: "llm"), let mmproj = record.file(role: "mmproj") else { return nil }
        return ActiveModel(slot: slot, record: record,
                           llmPath: directory(of: slot) + "/" + llm.fileName,
                           mmprojPath: directory(of: slot) + "/" + mmproj.fileName)
    }

    /// The slot a new model is installed into: the one that is not active.
    public var installSlot: Slot { activeSlot()?.other ?? .a }

    /// Repairs what an interrupted step left: a half-made switch, an `active` naming an
    /// incomplete slot, files of an incomplete inactive slot. The staging area is kept (the
    /// downloader resumes from it). Throws `AgentError.io`.
    @discardableResult
    public func recover() throws -> Recovery {
        var recovery = Recovery()
        let pending = root + "/" + Self.activeName + ".tmp"
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: pending)) != nil || FileManager.default.fileExists(atPath: pending) {
            unlink(pending)
            DurableFiles.syncDirectory(root)
            recovery.removedPendingSwitch = true
        }
        if let linked = activeLinkTarget(), record(of: linked) == nil {
            // Cannot happen through this type (a slot is completed before it is activated and
            // never cleared while active), but a damaged disk must still leave a runnable state.
            if record(of: linked.other) != nil {
                try switchActive(to: linked.other)
            } else {
                unlink(root + "/" + Self.activeName)
                DurableFiles.syncDirectory(root)
            }
            recovery.repairedActive = true
        }
        let active = activeSlot()
        for slot in Slot.allCases where slot != active && record(of: slot) == nil {
            if try clear(slot) { recovery.clearedSlots.append(slot) }
        }
        return recovery
    }

    /// Moves verified staged files into the inactive slot and marks it complete with `record`.
    /// `stagedFiles` maps each role of `record.files` to a file on the same file system.
    /// Returns the slot. Throws `AgentError.io` (the slot is then incomplete and cleaned by
    /// `recover()`), or `.modelUpdate` when a role has no staged file.
    @discardableResult
    public func install(stagedFiles: [String: String], record: ModelSlotRecord) throws -> Slot {
        let slot = installSlot
        _ = try clear(slot)
        for file in record.files {
            guard let source = stagedFiles[file.role] else {
                throw AgentError(.modelUpdate, "no staged file for role \(file.role) of model \(record.modelDigest)")
            }
            try DurableFiles.rename(from: source, to: directory(of: slot) + "/" + file.fileName)
        }
        TestCrashPoint.installFilesMoved.reach()
        try writeRecord(record, in: slot)
        return slot
    }

    /// Rewrites a complete slot's record (e.g. its evaluation). Throws `AgentError.io`.
    public func writeRecord(_ record: ModelSlotRecord, in slot: Slot) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let data: Data
        do { data = try encoder.encode(record) } catch {
            throw AgentError(.io, "cannot encode the slot record: \(error)", path: directory(of: slot))
        }
        try DurableFiles.write(data, to: directory(of: slot) + "/" + Self.recordName)
    }

    /// Makes `slot` active. Throws `.modelUpdate` when the slot is incomplete, `.io` on failure.
    public func activate(_ slot: Slot) throws {
        guard record(of: slot) != nil else {
            throw AgentError(.modelUpdate, "slot \(slot.rawValue) holds no complete, verified model", path: directory(of: slot))
        }
        try switchActive(to: slot)
    }

    /// Makes the other slot active again (it must be complete and not have failed its canary).
    /// Returns it.
    /// Throws `.modelUpdate` when there is nothing to roll back to.
    @discardableResult
    public func rollback() throws -> Slot {
        guard let active = activeSlot() else {
            throw AgentError(.modelUpdate, "no active model to roll back from", path: root)
        }
        guard let previous = record(of: active.other) else {
            throw AgentError(.modelUpdate, "slot \(active.other.rawValue) holds no complete model to roll back to",
                             path: directory(of: active.other))
        }
        // A model that failed its canary was never run; it is no place to go back to.
        guard !previous.evaluation.hasPrefix("failed") else {
            throw AgentError(.modelUpdate, "slot \(active.other.rawValue) holds model \(previous.modelDigest), which failed its "
                             + "canary (\(previous.evaluation)); activate it explicitly if you must", path: directory(of: active.other))
        }
        try switchActive(to: active.other)
        return active.other
    }

    /// Removes `active` durably: the agent runs the configured `[model]` paths again (the way
    /// back from the first model a rollout installed). Both slots are kept. Throws `.io`.
    public func deactivate() throws {
        let link = root + "/" + Self.activeName
        guard unlink(link) == 0 || errno == ENOENT else {
            throw AgentError(.io, "cannot remove the active link: \(String(cString: strerror(errno)))", path: link)
        }
        DurableFiles.syncDirectory(root)
    }

    /// Symlink `active.tmp` → slot, renamed over `active`, folder fsynced.
    private func switchActive(to slot: Slot) throws {
        let pending = root + "/" + Self.activeName + ".tmp"
        unlink(pending)
        guard symlink(slot.rawValue, pending) == 0 else {
            throw AgentError(.io, "cannot create the switch link: \(String(cString: strerror(errno)))", path: pending)
        }
        TestCrashPoint.switchLinkMade.reach()
        try DurableFiles.rename(from: pending, to: root + "/" + Self.activeName)
    }

    /// Marks `slot` incomplete (record removed durably first) and removes its files. Never
    /// clears the active slot. Returns true when anything was removed.
    private func clear(_ slot: Slot) throws -> Bool {
        guard activeLinkTarget() != slot else {
            throw AgentError(.modelUpdate, "refusing to clear the active slot \(slot.rawValue)", path: directory(of: slot))
        }
        let directory = directory(of: slot)
        var removed = false
        if unlink(directory + "/" + Self.recordName) == 0 {
            DurableFiles.syncDirectory(directory)
            removed = true
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names {
            guard unlink(directory + "/" + name) == 0 else {
                throw AgentError(.io, "cannot remove \(name): \(String(cString: strerror(errno)))", path: directory)
            }
            removed = true
        }
        if removed { DurableFiles.syncDirectory(directory) }
        return removed
    }
}
