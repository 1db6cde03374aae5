import Agent
import FleetProtocol
import Foundation
import Testing

/// The agent's state directory on a real small file system (a tmpfs the test mounts): a model
/// that does not fit beside the queue's floor is refused before any byte is fetched, the
/// coordinator gets the reason, and the agent keeps running its model and its queue.
/// Bounded: ~60 s.
@Suite("Model rollout onto a small disk", .serialized,
       .enabled(if: SmallFileSystem.tmpfsAvailable, "needs root to mount a tmpfs (CI runs as root)"))
struct ModelDiskFullIntegrationTests {
    typealias H = SyncProcessHarness

    @Test func aDiskTooSmallForTheModelIsRefusedBeforeDownloading() async throws {
        let root = try H.temporaryDirectory("smalldisk")
        defer { try? FileManager.default.removeItem(at: root) }
        // 8 MiB, 4 MiB of it the queue's floor: the 4.7 MB model does not fit beside it.
        let disk = try SmallFileSystem(.tmpfs, mebibytes: 8, at: root.appendingPathComponent("agent").path)
        defer { disk.unmount() }
        let (coordinator, agent, rollout) = try await ModelRolloutIntegrationTests.setUp(
            root: root, signer: try #require(ModelRolloutIntegrationTests.operatorKey), extraModels: "min_free_mib = 4")
        defer { coordinator.stop() }
        defer { agent.stop() }
        let log = { (try? String(contentsOf: agent.state.appendingPathComponent("agent.log"), encoding: .utf8)) ?? "" }

        let refused = try await H.eventually(40) {
            try await ModelRolloutIntegrationTests.detail(coordinator, rollout).devices.contains {
                $0.state == .failed && $0.reason.contains("not enough disk space") && $0.reason.contains("MiB are free")
            }
        }
        #expect(refused, "log: \(log())")
        let models = agent.state.appendingPathComponent("models").path
        #expect((try? FileManager.default.contentsOfDirectory(atPath: models + "/staging"))?.isEmpty ?? true, "nothing was downloaded")
        #expect(RolloutReportOutbox.latest(in: models)?.state == .failed)
        #expect(try ModelStore(stateDirectory: agent.state.path).activeModel() == nil, "the configured model stays")

        // The agent and its queue carry on with the old model.
        #expect(agent.isRunning)
        try agent.addImages(3)
        let done = await H.eventually(40) { (agent.doneCount() ?? 0) >= 3 }
        #expect(done, "log: \(log())")
        #expect(disk.freeBytes > 0 && disk.freeBytes < 8 << 20)
    }
}
