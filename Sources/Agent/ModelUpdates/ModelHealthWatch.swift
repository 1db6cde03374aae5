#if canImport(Glibc)
import Glibc
#endif
import FleetProtocol
import Foundation

/// The health window of the model the agent switched to, kept in
/// `<state>/models/health-watch.json` so it survives the restart onto the new model (and any
/// crash while the window is open). Opened by `ModelUpdateService` after a switch, fed by the
/// worker through `ModelHealthMonitor`, closed healthy or by switching back.
public struct ModelHealthWatch: Codable, Sendable, Equatable {
    /// The model being watched (manifest digest of the active slot).
    public var modelDigest: String
    /// The rollout that brought it, for the ROLLED_BACK report.
    public var rolloutID: String
    /// The model to go back to: a slot's manifest digest, or "" for the configured `[model]` paths.
    public var previousDigest: String
    public var window: HealthWindow

    public init(modelDigest: String, rolloutID: String, previousDigest: String, window: HealthWindow) {
        self.modelDigest = modelDigest
        self.rolloutID = rolloutID
        self.previousDigest = previousDigest
        self.window = window
    }

    static func path(in modelsDirectory: String) -> String { modelsDirectory + "/health-watch.json" }

    /// The open watch, or nil (none, or unreadable: a damaged file must not block the agent).
    public static func load(in modelsDirectory: String) -> ModelHealthWatch? {
        guard let data = FileManager.default.contents(atPath: path(in: modelsDirectory)) else { return nil }
        return try? JSONDecoder().decode(ModelHealthWatch.self, from: data)
    }

    /// Writes the watch durably. Throws `AgentError(.io)`.
    public func save(in modelsDirectory: String) throws {
        let data: Data
        do { data = try JSONEncoder().encode(self) } catch {
            throw AgentError(.io, "cannot encode the health watch: \(error)", path: Self.path(in: modelsDirectory))
        }
        try DurableFiles.write(data, to: Self.path(in: modelsDirectory))
    }

    /// Removes the watch (window closed).
    public static func close(in modelsDirectory: String) {
        unlink(path(in: modelsDirectory))
        DurableFiles.syncDirectory(modelsDirectory)
    }

    /// Switches the store back to the previous model, remembers this model and rollout as
    /// rolled back (so the same assignment is not applied again), queues ROLLED_BACK with `reason` for the
    /// coordinator and closes the watch. Throws `AgentError(.modelUpdate)` when the previous
    /// model is no longer in the store (the watched model stays active then), `.io` on failure.
    public func switchBack(store: ModelStore, reason: String) throws {
        guard let active = store.activeModel(), active.record.modelDigest == modelDigest else {
            // Someone (e.g. `edgevlm models rollback`) already switched away: nothing to undo.
            Self.close(in: store.root)
            return
        }
        if previousDigest.isEmpty {
            try store.deactivate()
        } else if store.record(of: active.slot.other)?.modelDigest == previousDigest {
            try store.activate(active.slot.other)
        } else {
            throw AgentError(.modelUpdate, "cannot switch back from \(modelDigest): the previous model \(previousDigest) is no "
                             + "longer in slot \(active.slot.other.rawValue)", path: store.directory(of: active.slot.other))
        }
        try RolledBackModels.insert(modelDigest, rolloutID: rolloutID, in: store.root)
        try RolloutReportOutbox.record(rolloutID: rolloutID, modelDigest: modelDigest, state: .rolledBack, reason: reason,
                                       in: store.root)
        Self.close(in: store.root)
    }
}
