import FleetProtocol
import Foundation

/// The latest model-update state for the coordinator, kept in `<state>/models/rollout-report.json`
/// until the sync service has delivered it (`ReportRolloutStatus`). Only the latest state
/// matters to a rollout, so a newer report replaces an undelivered older one.
public enum RolloutReportOutbox {
    struct Entry: Codable, Equatable {
        var rolloutID: String
        var modelDigest: String
        var state: Int
        var reason: String
        var delivered: Bool
    }

    static func path(in modelsDirectory: String) -> String { modelsDirectory + "/rollout-report.json" }

    /// Records a state to deliver. Throws `.io`.
    public static func record(rolloutID: String, modelDigest: String, state: FleetRolloutDeviceState, reason: String,
                              in modelsDirectory: String) throws {
        let entry = Entry(rolloutID: rolloutID, modelDigest: modelDigest, state: state.rawValue, reason: reason, delivered: false)
        let data: Data
        do { data = try JSONEncoder().encode(entry) } catch {
            throw AgentError(.io, "cannot encode the rollout report: \(error)", path: path(in: modelsDirectory))
        }
        try DurableFiles.makeDirectory(modelsDirectory)
        try DurableFiles.write(data, to: path(in: modelsDirectory))
    }

    /// The undelivered report, or nil.
    public static func pending(in modelsDirectory: String) -> FleetRolloutStatusReportDraft? {
        guard let data = FileManager.default.contents(atPath: path(in: modelsDirectory)),
              let entry = try? JSONDecoder().decode(Entry.self, from: data), !entry.delivered else { return nil }
        return FleetRolloutStatusReportDraft(rolloutID: entry.rolloutID, modelDigest: entry.modelDigest,
                                             state: FleetRolloutDeviceState(rawValue: entry.state) ?? .unspecified, reason: entry.reason)
    }

    /// The latest recorded report, delivered or not, or nil.
    public static func latest(in modelsDirectory: String) -> FleetRolloutStatusReportDraft? {
        guard let data = FileManager.default.contents(atPath: path(in: modelsDirectory)),
              let entry = try? JSONDecoder().decode(Entry.self, from: data) else { return nil }
        return FleetRolloutStatusReportDraft(rolloutID: entry.rolloutID, modelDigest: entry.modelDigest,
                                             state: FleetRolloutDeviceState(rawValue: entry.state) ?? .unspecified, reason: entry.reason)
    }

    /// Marks `draft` delivered unless a newer report replaced it meanwhile.
    public static func markDelivered(_ draft: FleetRolloutStatusReportDraft, in modelsDirectory: String) throws {
        guard let current = pending(in: modelsDirectory), current == draft else { return }
        let entry = Entry(rolloutID: draft.rolloutID, modelDigest: draft.modelDigest, state: draft.state.rawValue,
                          reason: draft.reason, delivered: true)
        guard let data = try? JSONEncoder().encode(entry) else { return }
        try DurableFiles.write(data, to: path(in: modelsDirectory))
    }
}

/// One rollout state report as the sync service sends it.
public struct FleetRolloutStatusReportDraft: Sendable, Equatable {
    public var rolloutID: String
    public var modelDigest: String
    public var state: FleetRolloutDeviceState
    public var reason: String
}
