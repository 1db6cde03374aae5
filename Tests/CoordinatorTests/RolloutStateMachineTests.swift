@testable import Coordinator
import FleetProtocol
import Testing

/// The rollout rules with an injected clock (plain integers of Unix ms) and hand-set counts.
@Suite("RolloutStateMachine")
struct RolloutStateMachineTests {
    static func stage(_ percent: UInt32, min: UInt32 = 1, soak: UInt32 = 60) -> FleetRolloutStage {
        var stage = FleetRolloutStage()
        stage.percent = percent
        stage.minDevices = min
        stage.soakSeconds = soak
        return stage
    }

    static func policy(success: UInt32 = 90, maxFailures: UInt32 = 0, maxPercent: UInt32 = 0, minFinished: UInt32 = 0) -> FleetRolloutPolicy {
        var policy = FleetRolloutPolicy()
        policy.successPercent = success
        policy.maxFailures = maxFailures
        policy.maxFailurePercent = maxPercent
        policy.minFinishedForFailurePercent = minFinished
        return policy
    }

    static func rollout(stages: [FleetRolloutStage] = [stage(1), stage(10), stage(50), stage(100)],
                        policy: FleetRolloutPolicy = policy(), target: Int64 = 1_000) -> RolloutRecord {
        var record = RolloutRecord(rolloutID: "r1", modelDigest: "m", targetTags: ["t"], stages: stages,
                                   policy: policy, createdAt: 0)
        record.counts.target = target
        return record
    }

    @Test func validationRefusesBadStages() throws {
        #expect(throws: CoordinatorError.self) { try RolloutStateMachine.validate(stages: [], policy: Self.policy()) }
        #expect(throws: CoordinatorError.self) {
            try RolloutStateMachine.validate(stages: [Self.stage(10), Self.stage(5), Self.stage(100)], policy: Self.policy())
        }
        #expect(throws: CoordinatorError.self) {
            try RolloutStateMachine.validate(stages: [Self.stage(10), Self.stage(50)], policy: Self.policy())
        }
        #expect(throws: CoordinatorError.self) {
            try RolloutStateMachine.validate(stages: [Self.stage(100)], policy: Self.policy(success: 101))
        }
        try RolloutStateMachine.validate(stages: [Self.stage(1), Self.stage(100)], policy: Self.policy())
    }

    @Test func cohortSizesRoundUpAndRespectMinimum() {
        #expect(RolloutStateMachine.cohortSize(of: Self.stage(1), target: 1_000) == 10)
        #expect(RolloutStateMachine.cohortSize(of: Self.stage(1), target: 150) == 2)
        #expect(RolloutStateMachine.cohortSize(of: Self.stage(1, min: 5), target: 150) == 5)
        #expect(RolloutStateMachine.cohortSize(of: Self.stage(10, min: 50), target: 20) == 20)
        #expect(RolloutStateMachine.cohortSize(of: Self.stage(100), target: 0) == 0)
    }

    @Test func firstEvaluationAssignsStageZero() throws {
        let step = try RolloutStateMachine.step(Self.rollout(), command: nil, now: 5_000)
        #expect(step.effect == .assignStage(stage: 0, cohortSize: 10))
        #expect(step.rollout.currentStage == 0 && step.rollout.stageStartedAt == 5_000)
    }

    @Test func promotionWaitsForSoakAndSuccessShare() throws {
        var record = Self.rollout()
        record.currentStage = 0
        record.stageStartedAt = 0
        record.counts.assigned = 10
        record.counts.succeeded = 9
        // Soak not over (60 s).
        #expect(try RolloutStateMachine.step(record, command: nil, now: 59_999).effect == .none)
        // Soak over, 9/10 ≥ 90%: promote to 10% = 100 devices.
        let promoted = try RolloutStateMachine.step(record, command: nil, now: 60_000)
        #expect(promoted.effect == .assignStage(stage: 1, cohortSize: 100))
        #expect(promoted.rollout.currentStage == 1 && promoted.rollout.stageStartedAt == 60_000)
        // 8/10 < 90%: wait.
        record.counts.succeeded = 8
        #expect(try RolloutStateMachine.step(record, command: nil, now: 1_000_000).effect == .none)
    }

    @Test func promotionNeedsMinimumDevices() throws {
        var record = Self.rollout(stages: [Self.stage(1, min: 5, soak: 0), Self.stage(100)], target: 100)
        record.currentStage = 0
        record.counts.assigned = 5
        record.counts.succeeded = 4
        #expect(try RolloutStateMachine.step(record, command: nil, now: 1).effect == .none)
        record.counts.succeeded = 5
        #expect(try RolloutStateMachine.step(record, command: nil, now: 1).effect == .assignStage(stage: 1, cohortSize: 100))
    }

    @Test func lastStageCompletes() throws {
        var record = Self.rollout(stages: [Self.stage(100, soak: 0)], target: 3)
        record.currentStage = 0
        record.counts.assigned = 3
        record.counts.succeeded = 3
        let done = try RolloutStateMachine.step(record, command: nil, now: 1)
        #expect(done.rollout.phase == .completed && done.effect == .none)
        // Completed rollouts do not move on evaluation.
        #expect(try RolloutStateMachine.step(done.rollout, command: nil, now: 2).rollout == done.rollout)
    }

    @Test func failureCountPauses() throws {
        var record = Self.rollout(policy: Self.policy(maxFailures: 3))
        record.currentStage = 1
        record.counts.assigned = 100
        record.counts.succeeded = 50
        record.counts.failed = 2
        #expect(try RolloutStateMachine.step(record, command: nil, now: 1).rollout.phase == .running)
        record.counts.failed = 3
        let paused = try RolloutStateMachine.step(record, command: nil, now: 1)
        #expect(paused.rollout.phase == .paused && paused.effect == .none)
        #expect(paused.rollout.phaseReason.contains("3 device failures"))
    }

    @Test func failurePercentPausesOnlyAfterMinimumFinished() throws {
        var record = Self.rollout(policy: Self.policy(maxPercent: 20, minFinished: 10))
        record.currentStage = 0
        record.counts.assigned = 10
        record.counts.failed = 3
        record.counts.succeeded = 5
        // 8 finished < 10: no verdict yet.
        #expect(try RolloutStateMachine.step(record, command: nil, now: 1).rollout.phase == .running)
        record.counts.succeeded = 7
        // 3 of 10 = 30% ≥ 20%.
        let paused = try RolloutStateMachine.step(record, command: nil, now: 1)
        #expect(paused.rollout.phase == .paused)
        #expect(paused.rollout.phaseReason.contains("3 of 10"))
        record.counts.succeeded = 20
        // 3 of 23 = 13% < 20%.
        #expect(try RolloutStateMachine.step(record, command: nil, now: 1).rollout.phase == .running)
    }

    @Test func resumeForgivesFailuresSeenSoFar() throws {
        var record = Self.rollout(policy: Self.policy(maxFailures: 2))
        record.currentStage = 0
        record.phase = .paused
        record.counts.assigned = 10
        record.counts.failed = 2
        let resumed = try RolloutStateMachine.step(record, command: .resume, now: 1)
        #expect(resumed.rollout.phase == .running && resumed.rollout.acknowledgedFailures == 2)
        var later = resumed.rollout
        later.counts.failed = 3
        #expect(try RolloutStateMachine.step(later, command: nil, now: 2).rollout.phase == .running)
        later.counts.failed = 4
        #expect(try RolloutStateMachine.step(later, command: nil, now: 2).rollout.phase == .paused)
    }

    @Test func operatorCommandsFollowThePhases() throws {
        var record = Self.rollout()
        record.currentStage = 0
        let paused = try RolloutStateMachine.step(record, command: .pause(reason: "look"), now: 1).rollout
        #expect(paused.phase == .paused && paused.phaseReason == "look")
        #expect(throws: CoordinatorError.self) { try RolloutStateMachine.step(paused, command: .pause(reason: ""), now: 1) }
        #expect(throws: CoordinatorError.self) { try RolloutStateMachine.step(record, command: .resume, now: 1) }
        let aborted = try RolloutStateMachine.step(paused, command: .abort(reason: ""), now: 1).rollout
        #expect(aborted.phase == .aborted && aborted.phaseReason == "aborted by operator")
        #expect(throws: CoordinatorError.self) { try RolloutStateMachine.step(aborted, command: .resume, now: 1) }
        let rolledBack = try RolloutStateMachine.step(aborted, command: .rollback(reason: "bad captions"), now: 1)
        #expect(rolledBack.rollout.phase == .rolledBack && rolledBack.effect == .rollBackDevices)
        #expect(throws: CoordinatorError.self) {
            try RolloutStateMachine.step(rolledBack.rollout, command: .rollback(reason: ""), now: 1)
        }
    }

    @Test func pausedRolloutDoesNotPromote() throws {
        var record = Self.rollout()
        record.currentStage = 0
        record.phase = .paused
        record.counts.assigned = 10
        record.counts.succeeded = 10
        #expect(try RolloutStateMachine.step(record, command: nil, now: 10_000_000).effect == .none)
    }
}
