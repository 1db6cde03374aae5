import FleetProtocol
import Foundation

/// Models the health window rejected on this device, with the rollout that brought them
/// (`<state>/models/rolled-back.json`).
///
/// The rule: an assignment is not applied again while its model *and* rollout are listed, even
/// while the coordinator still assigns it (the device already said ROLLED_BACK; retrying would
/// flap). A *new* rollout of the same model (the operator's decision, e.g. after fixing the
/// cause elsewhere) is tried again. A model's entries are removed when it becomes active again:
/// by `edgevlm models activate` (the operator's choice) or by a new rollout switching to it.
/// Files written before rollouts were recorded (a list of digests) block their model for every
/// rollout until it is activated.
public enum RolledBackModels {
    /// One rejected model.
    public struct Entry: Codable, Sendable, Equatable, Hashable {
        public var modelDigest: String
        /// The rollout whose assignment was rolled back; nil: every rollout (an old record).
        public var rolloutID: String?

        public init(modelDigest: String, rolloutID: String?) {
            self.modelDigest = modelDigest
            self.rolloutID = rolloutID
        }
    }

    static func path(in modelsDirectory: String) -> String { modelsDirectory + "/rolled-back.json" }

    /// The recorded entries (empty when none or unreadable: a damaged file must not block updates).
    public static func entries(in modelsDirectory: String) -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path(in: modelsDirectory)) else { return [] }
        if let entries = try? JSONDecoder().decode([Entry].self, from: data) { return entries }
        if let digests = try? JSONDecoder().decode([String].self, from: data) {
            return digests.map { Entry(modelDigest: $0, rolloutID: nil) }
        }
        return []
    }

    /// The rejected manifest digests.
    public static func all(in modelsDirectory: String) -> Set<String> {
        Set(entries(in: modelsDirectory).map(\.modelDigest))
    }

    /// Whether `assignment` was rolled back on this device (same model, same rollout).
    public static func blocks(_ assignment: FleetModelAssignment, in modelsDirectory: String) -> Bool {
        entries(in: modelsDirectory).contains {
            $0.modelDigest == assignment.modelDigest && ($0.rolloutID == nil || $0.rolloutID == assignment.rolloutID)
        }
    }

    /// Records `digest` as rolled back in `rolloutID`. Throws `AgentError(.io)`.
    public static func insert(_ digest: String, rolloutID: String, in modelsDirectory: String) throws {
        var entries = entries(in: modelsDirectory)
        let entry = Entry(modelDigest: digest, rolloutID: rolloutID)
        guard !entries.contains(entry) else { return }
        entries.append(entry)
        try write(entries, in: modelsDirectory)
    }

    /// Forgets every entry of `digest` (it is active again). Throws `AgentError(.io)`.
    public static func clear(_ digest: String, in modelsDirectory: String) throws {
        let entries = entries(in: modelsDirectory)
        let kept = entries.filter { $0.modelDigest != digest }
        guard kept.count != entries.count else { return }
        try write(kept, in: modelsDirectory)
    }

    private static func write(_ entries: [Entry], in modelsDirectory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do { data = try encoder.encode(entries) } catch {
            throw AgentError(.io, "cannot encode the rolled-back models: \(error)", path: path(in: modelsDirectory))
        }
        try DurableFiles.write(data, to: path(in: modelsDirectory))
    }
}
