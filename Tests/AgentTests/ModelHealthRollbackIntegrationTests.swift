import Agent
import FleetProtocol
import Foundation
import Testing

/// The health window end to end (issue 9 item 5): the real coordinator rolls a model out, the
/// agent test host switches to it and restarts on it (as systemd would), the model fails every
/// job on the device (the test host's fault injection, `EDGEVLM_TESTHOST_FAILING_MODELS`: it
/// passed signature and digests, there is no canary configured), the window breaches, the agent
/// switches back to the previous model, stops, and after its restart runs the old model, and the
/// coordinator records ROLLED_BACK with the reason and pauses the rollout at its threshold.
@Suite("Health window switch-back with the real coordinator", .serialized)
struct ModelHealthRollbackIntegrationTests {
    typealias H = SyncProcessHarness

    static func log(_ agent: H.AgentProcess) -> String {
        (try? String(contentsOf: agent.state.appendingPathComponent("agent.log"), encoding: .utf8)) ?? ""
    }

    @Test func failingJobsAfterTheSwitchRollBackAndPauseTheRollout() async throws {
        let root = try H.temporaryDirectory("health")
        defer { try? FileManager.default.removeItem(at: root) }
        let key = try #require(ModelRolloutIntegrationTests.operatorKey)
        // The digest is only known after signing; the knob is read when the host starts, so
        // the first start (configured model, no slot) is unaffected and the failing model is
        // named before the restart onto it.
        let (coordinator, agent, rollout) = try await ModelRolloutIntegrationTests.setUp(
            root: root, signer: key,
            extraModels: "health_jobs = 10\nhealth_min_jobs = 4\nhealth_max_failure_rate = 0.25",
            soakSeconds: 600)
        defer { coordinator.stop() }
        defer { agent.stop() }
        let store = try ModelStore(stateDirectory: agent.state.path)
        let models = agent.state.appendingPathComponent("models").path

        // Switch to the new model; the agent stops to be restarted on it and opens its window.
        let switched = await H.eventually(40) { store.activeModel()?.record.modelDigest == rollout.modelDigest && !agent.isRunning }
        #expect(switched, "log: \(Self.log(agent))")
        #expect(ModelHealthWatch.load(in: models)?.modelDigest == rollout.modelDigest)
        #expect(ModelHealthWatch.load(in: models)?.previousDigest == "", "the previous model is the configured [model]")
        agent.stop()
        agent.environment = ["EDGEVLM_TESTHOST_FAILING_MODELS": rollout.modelDigest]
        try agent.start()
        let reportedActive = try await H.eventually(30) {
            try await ModelRolloutIntegrationTests.detail(coordinator, rollout).devices.contains { $0.state == .active }
        }
        #expect(reportedActive, "log: \(Self.log(agent))")

        // Jobs on the new model fail; after 4 of them the window breaches and the agent switches back.
        try agent.addImages(6)
        let breached = await H.eventually(40) { store.activeModel() == nil }
        let breachSeen = ContinuousClock.now
        #expect(breached, "log: \(Self.log(agent))")
        let exited = await H.eventually(20) { !agent.isRunning }
        let exitSeconds = (ContinuousClock.now - breachSeen)
        #expect(exited, "the agent stops to load the previous model")
        #expect(Self.log(agent).contains("4 of 4 jobs failed after the switch"))
        #expect(RolledBackModels.all(in: models).contains(rollout.modelDigest))
        #expect(ModelHealthWatch.load(in: models) == nil, "the window is closed")
        // Slot A still holds the rolled-back model (verified, for an operator to inspect).
        #expect(store.record(of: .a)?.modelDigest == rollout.modelDigest)

        // As systemd would: start again; the previous model runs the jobs that failed.
        agent.stop()
        let restarted = ContinuousClock.now
        try agent.start()
        try agent.addImages(1)
        let done = await H.eventually(60) { (agent.doneCount() ?? 0) >= 1 }
        let firstDone = ContinuousClock.now - restarted
        #expect(done, "log: \(Self.log(agent))")
        #expect(Self.log(agent).contains("\"model\": \"testhost-deterministic-v1\"")
                || Self.log(agent).contains("model=testhost-deterministic-v1"), "the restarted host runs the configured model")
        let allDone = await H.eventually(60) { (agent.doneCount() ?? 0) == 7 }
        #expect(allDone, "the 6 jobs that failed on the rolled-back model succeed on the previous one")
        print("health switch-back: breach observed -> agent exited \(exitSeconds); restart -> first job done on the old model \(firstDone)")

        // The coordinator: ROLLED_BACK with the reason, the rollout paused at its threshold.
        let paused = try await H.eventually(30) {
            let detail = try await ModelRolloutIntegrationTests.detail(coordinator, rollout)
            return detail.rollout.phase == .paused
                && detail.devices.contains { $0.state == .rolledBack && $0.reason.contains("jobs failed after the switch")
                                             && $0.reason.contains(rollout.modelDigest) }
        }
        let detail = try await ModelRolloutIntegrationTests.detail(coordinator, rollout)
        #expect(paused, "devices: \(detail.devices.map { "\($0.state) \($0.reason)" }) phase \(detail.rollout.phase) log: \(Self.log(agent))")
        // The still-assigned model is not applied again.
        try await Task.sleep(for: .seconds(3))
        #expect(store.activeModel() == nil)
        #expect(agent.isRunning)
    }
}
