import Logging
import ServiceLifecycle

/// Re-evaluates running rollouts every few seconds so soak times lead to promotions even when
/// no device reports. Safe with several replicas: each step runs under the rollout's row lock.
public struct RolloutTicker: Service {
    public let core: CoordinatorCore

    public init(core: CoordinatorCore) {
        self.core = core
    }

    public func run() async throws {
        let interval = Duration.seconds(max(1, core.configuration.rolloutTickSeconds))
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await tick()
            try? await Task.sleep(for: interval)
        }
    }

    /// One pass over running rollouts.
    public func tick() async {
        do {
            for rollout in try await core.store.listRollouts() where rollout.phase == .running {
                let after = try await core.store.advanceRollout(id: rollout.rolloutID, command: nil, now: core.clock())
                if after.phase != rollout.phase || after.currentStage != rollout.currentStage {
                    await core.audit(actor: "system", action: "rollout.\(RolloutStateMachine.name(of: after.phase))",
                                     subject: "rollout \(after.rolloutID)", detail: "stage \(after.currentStage) \(after.phaseReason)")
                }
            }
        } catch {
            core.logger.error("rollout tick failed: \(error)")
        }
    }
}
