import FleetProtocol

/// The rollout rules as a pure function of a rollout's stored state, its device counts and the
/// time: no I/O, so every rule is unit-tested with an injected clock. The store runs it under
/// the rollout's row lock and carries out the returned effect.
///
/// Rules:
/// - Stages are cumulative shares of the target devices; stage `i` covers
///   `min(target, max(minDevices, ceil(target * percent / 100)))` devices.
/// - While running, failures (FAILED or ROLLED_BACK) since the last resume pause the rollout when
///   they reach `maxFailures`, or when they reach `maxFailurePercent` of the finished devices
///   once at least `minFinishedForFailurePercent` finished.
/// - A stage is promoted when its soak time has passed, at least `successPercent` of the assigned
///   devices succeeded, and at least `min(minDevices, target)` succeeded; after the last stage
///   the rollout completes.
public enum RolloutStateMachine {
    /// What the store must do after a transition.
    public enum Effect: Sendable, Equatable {
        case none
        /// Assign devices until `cohortSize` devices take part (stage `stage` was reached).
        case assignStage(stage: Int, cohortSize: Int64)
        /// Send every assigned device back to its previous model.
        case rollBackDevices
    }

    /// A rollout after a step, and the effect to carry out.
    public struct Transition: Sendable, Equatable {
        public var rollout: RolloutRecord
        public var effect: Effect
    }

    /// Checks a rollout definition; throws `.invalidArgument` naming the bad field.
    public static func validate(stages: [FleetRolloutStage], policy: FleetRolloutPolicy) throws {
        guard !stages.isEmpty else { throw CoordinatorError(.invalidArgument, "a rollout needs at least one stage") }
        var previous: UInt32 = 0
        for (index, stage) in stages.enumerated() {
            guard stage.percent >= 1, stage.percent <= 100, stage.percent > previous else {
                throw CoordinatorError(.invalidArgument,
                                       "stage percents must rise within 1...100 (stage \(index) has \(stage.percent)%)",
                                       context: "stages[\(index)]")
            }
            previous = stage.percent
        }
        guard previous == 100 else {
            throw CoordinatorError(.invalidArgument, "the last stage must cover 100% of the target devices (it has \(previous)%)")
        }
        guard policy.successPercent <= 100, policy.maxFailurePercent <= 100 else {
            throw CoordinatorError(.invalidArgument, "success_percent and max_failure_percent must be 0...100")
        }
    }

    /// Devices stage `stage` covers out of `target`.
    public static func cohortSize(of stage: FleetRolloutStage, target: Int64) -> Int64 {
        let share = (target * Int64(stage.percent) + 99) / 100
        return min(target, max(Int64(stage.minDevices), share))
    }

    /// Applies `command` (nil = none) and then evaluates the rules at `now` (Unix ms).
    /// Throws `.failedPrecondition` when the command is not allowed in the current phase.
    public static func step(_ rollout: RolloutRecord, command: RolloutCommand?, now: Int64) throws -> Transition {
        var next = rollout
        if let command {
            switch (command, rollout.phase) {
            case (.pause(let reason), .running):
                next.phase = .paused
                next.phaseReason = reason.isEmpty ? "paused by operator" : reason
                return Transition(rollout: next, effect: .none)
            case (.resume, .paused):
                next.phase = .running
                next.phaseReason = ""
                next.acknowledgedFailures = rollout.counts.failed
            case (.abort(let reason), .running), (.abort(let reason), .paused):
                next.phase = .aborted
                next.phaseReason = reason.isEmpty ? "aborted by operator" : reason
                return Transition(rollout: next, effect: .none)
            case (.rollback(let reason), .running), (.rollback(let reason), .paused),
                 (.rollback(let reason), .completed), (.rollback(let reason), .aborted):
                next.phase = .rolledBack
                next.phaseReason = reason.isEmpty ? "rolled back by operator" : reason
                return Transition(rollout: next, effect: .rollBackDevices)
            default:
                throw CoordinatorError(.failedPrecondition,
                                       "cannot \(name(of: command)) a rollout that is \(name(of: rollout.phase))",
                                       context: "rollout \(rollout.rolloutID)")
            }
        }
        return evaluate(next, now: now)
    }

    /// The rules without a command.
    static func evaluate(_ rollout: RolloutRecord, now: Int64) -> Transition {
        var next = rollout
        guard rollout.phase == .running else { return Transition(rollout: next, effect: .none) }
        let counts = rollout.counts
        if rollout.currentStage < 0 {
            return promote(next, to: 0, now: now)
        }
        if let reason = failureReason(rollout) {
            next.phase = .paused
            next.phaseReason = reason
            return Transition(rollout: next, effect: .none)
        }
        let stage = rollout.stages[min(rollout.currentStage, rollout.stages.count - 1)]
        let soaked = now - rollout.stageStartedAt >= Int64(stage.soakSeconds) * 1000
        let successPercent = Int64(rollout.policy.successPercent == 0 ? 100 : rollout.policy.successPercent)
        let enoughShare = counts.assigned > 0 && counts.succeeded * 100 >= successPercent * counts.assigned
        let enoughDevices = counts.succeeded >= min(Int64(stage.minDevices), counts.target)
        let wholeCohort = counts.assigned >= cohortSize(of: stage, target: counts.target)
        guard soaked, enoughShare, enoughDevices, wholeCohort else { return Transition(rollout: next, effect: .none) }
        if rollout.currentStage + 1 >= rollout.stages.count {
            next.phase = .completed
            next.phaseReason = "all \(rollout.stages.count) stages succeeded"
            return Transition(rollout: next, effect: .none)
        }
        return promote(next, to: rollout.currentStage + 1, now: now)
    }

    private static func promote(_ rollout: RolloutRecord, to stage: Int, now: Int64) -> Transition {
        var next = rollout
        next.currentStage = stage
        next.stageStartedAt = now
        let size = cohortSize(of: rollout.stages[stage], target: rollout.counts.target)
        return Transition(rollout: next, effect: .assignStage(stage: stage, cohortSize: size))
    }

    /// Why the failure thresholds pause the rollout, nil when they do not.
    static func failureReason(_ rollout: RolloutRecord) -> String? {
        let policy = rollout.policy
        let failures = rollout.counts.failed - rollout.acknowledgedFailures
        let finished = rollout.counts.succeeded + failures
        if policy.maxFailures > 0, failures >= Int64(policy.maxFailures) {
            return "\(failures) device failures reached the limit of \(policy.maxFailures)"
        }
        if policy.maxFailurePercent > 0, finished >= max(1, Int64(policy.minFinishedForFailurePercent)),
           failures * 100 >= Int64(policy.maxFailurePercent) * finished {
            return "\(failures) of \(finished) finished devices failed, reaching \(policy.maxFailurePercent)%"
        }
        return nil
    }

    static func name(of command: RolloutCommand) -> String {
        switch command {
        case .pause: "pause"
        case .resume: "resume"
        case .abort: "abort"
        case .rollback: "roll back"
        }
    }

    static func name(of phase: FleetRolloutPhase) -> String {
        switch phase {
        case .running: "running"
        case .paused: "paused"
        case .completed: "completed"
        case .aborted: "aborted"
        case .rolledBack: "rolled back"
        default: "in an unknown phase"
        }
    }
}
