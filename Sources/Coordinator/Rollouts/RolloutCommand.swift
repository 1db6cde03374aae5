/// An operator's instruction to a rollout.
public enum RolloutCommand: Sendable, Equatable {
    /// Stop assigning devices (running → paused).
    case pause(reason: String)
    /// Continue (paused → running); failures seen so far no longer count toward thresholds.
    case resume
    /// Stop for good (running/paused → aborted); devices keep what they have.
    case abort(reason: String)
    /// Stop for good and send every assigned device back to its previous model.
    case rollback(reason: String)
}
