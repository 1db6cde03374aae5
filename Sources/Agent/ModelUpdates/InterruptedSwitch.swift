import FleetProtocol
import Foundation

/// Finishes a switch the agent was killed in the middle of: `active` already names the assigned
/// model but the ACTIVE report and the health window were never recorded (power lost right
/// after the rename). Run at agent start, after `ModelStore.recover()` and before the health
/// monitor is resumed, so the model that is now running is reported and watched like any other.
public enum InterruptedSwitch {
    /// Records ACTIVE and opens the health window when the store's active model is the recorded
    /// assignment and the latest report for it is not final. Returns true when it did.
    /// Throws `AgentError(.io)` when the report or the window cannot be written.
    @discardableResult
    public static func complete(store: ModelStore, assignment: FleetModelAssignment?, models: AgentConfiguration.Models) throws -> Bool {
        guard let assignment, let active = store.activeModel(), active.record.modelDigest == assignment.modelDigest else { return false }
        if let latest = RolloutReportOutbox.latest(in: store.root), latest.rolloutID == assignment.rolloutID,
           latest.modelDigest == assignment.modelDigest, [.active, .failed, .rolledBack].contains(latest.state) {
            return false
        }
        // The model it replaced is in the other slot, or none was installed (the configured [model]).
        let previous = store.record(of: active.slot.other)?.modelDigest ?? ""
        if ModelHealthWatch.load(in: store.root)?.modelDigest != active.record.modelDigest {
            try ModelHealthWatch(modelDigest: active.record.modelDigest, rolloutID: assignment.rolloutID, previousDigest: previous,
                                 window: models.healthWindow()).save(in: store.root)
        }
        try RolledBackModels.clear(active.record.modelDigest, in: store.root)
        try RolloutReportOutbox.record(rolloutID: assignment.rolloutID, modelDigest: assignment.modelDigest, state: .active,
                                       reason: active.record.evaluation, in: store.root)
        return true
    }
}
