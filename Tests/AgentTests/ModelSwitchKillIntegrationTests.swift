import Agent
import FleetProtocol
import Foundation
import Testing

/// SIGKILL of the agent process at each named point of an install and switch (the
/// `EDGEVLM_TEST_KILL_AT` crash points: the process kills itself there, no cleanup), then a
/// restart: the device always runs the old or the new complete model, never a half one, and the
/// coordinator ends up with ACTIVE for the model the device runs. Bounded: ~30 s.
@Suite("SIGKILL at the model switch", .serialized)
struct ModelSwitchKillIntegrationTests {
    typealias H = SyncProcessHarness

    /// The active model is either none (the configured one) or complete with the published bytes.
    static func runsACompleteModel(_ store: ModelStore) -> Bool {
        guard let active = store.activeModel() else { return true }
        return FileManager.default.contents(atPath: active.llmPath) == FileManager.default.contents(atPath: ModelUpdateFixtures.demoLLM)
            && FileManager.default.contents(atPath: active.mmprojPath) == FileManager.default.contents(atPath: ModelUpdateFixtures.demoMMProj)
    }

    /// Whether the agent process ended by SIGKILL (its own test crash point), not by an exit.
    static func killedBySIGKILL(_ agent: H.AgentProcess) -> Bool {
        agent.process.map { !$0.isRunning && $0.terminationReason == .uncaughtSignal && $0.terminationStatus == SIGKILL } ?? false
    }

    @Test func killsAtEachSwitchPointLeaveOldOrNewNeverHalf() async throws {
        let root = try H.temporaryDirectory("switchkill")
        defer { try? FileManager.default.removeItem(at: root) }
        let key = try #require(ModelRolloutIntegrationTests.operatorKey)
        let (coordinator, agent, rollout) = try await ModelRolloutIntegrationTests.setUp(
            root: root, signer: key, agentEnvironment: ["EDGEVLM_TEST_KILL_AT": "install.files-moved"])
        defer { coordinator.stop() }
        defer { agent.stop() }
        let log = { (try? String(contentsOf: agent.state.appendingPathComponent("agent.log"), encoding: .utf8)) ?? "" }
        let store = try ModelStore(stateDirectory: agent.state.path)
        let models = agent.state.appendingPathComponent("models").path
        func killed() -> Bool { Self.killedBySIGKILL(agent) }

        // 1. Killed with the files in slot A but its record unwritten: the old model runs.
        #expect(await H.eventually(40) { killed() }, "log: \(log())")
        #expect(store.activeModel() == nil && Self.runsACompleteModel(store))
        #expect(store.record(of: .a) == nil, "a slot without its record is not a model")

        // 2. Restart (recovery clears the half slot, the update runs again), killed with
        //    `active.tmp` made but not renamed: still the old model.
        agent.stop()
        agent.environment = ["EDGEVLM_TEST_KILL_AT": "switch.link-made"]
        try agent.start()
        #expect(await H.eventually(40) { killed() }, "log: \(log())")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: models + "/active.tmp")) == "A")
        #expect(store.activeModel() == nil && Self.runsACompleteModel(store))
        #expect(store.record(of: .a)?.modelDigest == rollout.modelDigest)

        // 3. Restart, killed right after the rename: the new model, complete; nothing reported yet.
        agent.stop()
        agent.environment = ["EDGEVLM_TEST_KILL_AT": "switch.renamed"]
        try agent.start()
        #expect(await H.eventually(40) { killed() }, "log: \(log())")
        #expect(store.activeModel()?.record.modelDigest == rollout.modelDigest && Self.runsACompleteModel(store))
        #expect(!FileManager.default.fileExists(atPath: models + "/active.tmp"))
        #expect(RolloutReportOutbox.latest(in: models)?.state != .active)

        // 4. Restart without a kill point: the agent finishes the interrupted switch (ACTIVE,
        //    health window) and runs the new model; the coordinator records ACTIVE.
        agent.stop()
        agent.environment = [:]
        try agent.start()
        let reported = try await H.eventually(30) {
            try await ModelRolloutIntegrationTests.detail(coordinator, rollout).devices.contains { $0.state == .active }
        }
        #expect(reported, "log: \(log())")
        #expect(agent.isRunning)
        #expect(log().contains("finished a model switch interrupted"))
        #expect(ModelHealthWatch.load(in: models)?.modelDigest == rollout.modelDigest)
        #expect(store.activeModel()?.record.modelDigest == rollout.modelDigest && Self.runsACompleteModel(store))
    }

    /// Killed after the switch once the health window is saved (ACTIVE not yet recorded), or
    /// once ACTIVE is recorded (the agent not yet restarted onto the new model): the next start
    /// watches the new model and the coordinator gets ACTIVE. (The window used to be saved after
    /// the ACTIVE report, so a kill between the two left the new model unwatched.)
    @Test(arguments: ["switch.watch-saved", "switch.reported"])
    func killsAfterTheSwitchStillLeaveTheNewModelWatched(point: String) async throws {
        let root = try H.temporaryDirectory("switchkill")
        defer { try? FileManager.default.removeItem(at: root) }
        let key = try #require(ModelRolloutIntegrationTests.operatorKey)
        let (coordinator, agent, rollout) = try await ModelRolloutIntegrationTests.setUp(
            root: root, signer: key, agentEnvironment: ["EDGEVLM_TEST_KILL_AT": point])
        defer { coordinator.stop() }
        defer { agent.stop() }
        let log = { (try? String(contentsOf: agent.state.appendingPathComponent("agent.log"), encoding: .utf8)) ?? "" }
        let store = try ModelStore(stateDirectory: agent.state.path)
        let models = agent.state.appendingPathComponent("models").path
        func killed() -> Bool { Self.killedBySIGKILL(agent) }

        #expect(await H.eventually(40) { killed() }, "log: \(log())")
        #expect(store.activeModel()?.record.modelDigest == rollout.modelDigest && Self.runsACompleteModel(store))
        #expect(ModelHealthWatch.load(in: models)?.modelDigest == rollout.modelDigest, "the window is saved before ACTIVE")
        #expect((RolloutReportOutbox.latest(in: models)?.state == .active) == (point == "switch.reported"))

        agent.stop()
        agent.environment = [:]
        try agent.start()
        let reported = try await H.eventually(30) {
            try await ModelRolloutIntegrationTests.detail(coordinator, rollout).devices.contains { $0.state == .active }
        }
        #expect(reported, "log: \(log())")
        #expect(agent.isRunning)
        let watch = try #require(ModelHealthWatch.load(in: models))
        #expect(watch.modelDigest == rollout.modelDigest && watch.rolloutID == rollout.rolloutID)
        #expect(watch.previousDigest == "", "the first model replaced the configured [model]")
        #expect(store.activeModel()?.record.modelDigest == rollout.modelDigest)
    }
}
