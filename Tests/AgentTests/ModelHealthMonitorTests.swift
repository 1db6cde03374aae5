import FleetProtocol
import Foundation
import Logging
import Testing
@testable import Agent

/// The health monitor on a real store: jobs fed through the worker's hook, the persisted window,
/// the switch back between slots and the ROLLED_BACK report it queues.
@Suite("Model health monitor")
struct ModelHealthMonitorTests {
    static func store() throws -> ModelStore {
        try ModelStore(root: try ModelUpdateFixtures.temporaryDirectory("health"))
    }

    /// Model "one" in A was running, "two" in B is active and watched.
    static func switched(_ store: ModelStore, window: HealthWindow) throws -> ModelHealthWatch {
        try store.activate(try ModelStoreTests.install(store, digest: "one"))
        try store.activate(try ModelStoreTests.install(store, digest: "two", llm: "llm-2"))
        let watch = ModelHealthWatch(modelDigest: "two", rolloutID: "r1", previousDigest: "one", window: window)
        try watch.save(in: store.root)
        return watch
    }

    @Test func breachSwitchesBackToThePreviousSlotAndQueuesRolledBack() async throws {
        let store = try Self.store()
        _ = try Self.switched(store, window: HealthWindow(jobs: 10, minJobs: 3, maxFailureRate: 0.5, maxFallbackRate: 1))
        let monitor = try #require(ModelHealthMonitor.resume(store: store, logger: Logger(label: "test")))
        monitor.jobFinished(failed: true, fallbacks: 0)
        monitor.jobFinished(failed: false, fallbacks: 0)
        // Two jobs seen: persisted, not judged yet.
        #expect(ModelHealthWatch.load(in: store.root)?.window.seen == 2)
        monitor.jobFinished(failed: true, fallbacks: 0)
        await #expect(throws: ModelHealthMonitor.RestartForPreviousModel.self) { try await monitor.run() }
        #expect(store.activeModel()?.record.modelDigest == "one")
        #expect(store.record(of: .b)?.modelDigest == "two", "the rolled-back model stays in its slot")
        let report = try #require(RolloutReportOutbox.pending(in: store.root))
        #expect(report.state == .rolledBack)
        #expect(report.rolloutID == "r1")
        #expect(report.reason.contains("2 of 3 jobs failed after the switch"))
        #expect(report.reason.contains("two"))
        #expect(RolledBackModels.all(in: store.root) == ["two"])
        #expect(ModelHealthWatch.load(in: store.root) == nil)
    }

    @Test func aHealthyWindowClosesAndLaterFailuresAreIgnored() throws {
        let store = try Self.store()
        _ = try Self.switched(store, window: HealthWindow(jobs: 3, minJobs: 1, maxFailureRate: 0.5, maxFallbackRate: 1))
        let monitor = try #require(ModelHealthMonitor.resume(store: store, logger: Logger(label: "test")))
        for _ in 0..<3 { monitor.jobFinished(failed: false, fallbacks: 0) }
        #expect(ModelHealthWatch.load(in: store.root) == nil)
        for _ in 0..<5 { monitor.jobFinished(failed: true, fallbacks: 0) }
        #expect(store.activeModel()?.record.modelDigest == "two")
        #expect(RolloutReportOutbox.pending(in: store.root) == nil)
    }

    @Test func aWatchForAnotherModelIsStaleAndRemoved() throws {
        let store = try Self.store()
        _ = try Self.switched(store, window: HealthWindow())
        try store.rollback()
        #expect(ModelHealthMonitor.resume(store: store, logger: Logger(label: "test")) == nil)
        #expect(ModelHealthWatch.load(in: store.root) == nil)
    }

    @Test func switchingBackToTheConfiguredModelRemovesTheActiveLink() throws {
        let store = try Self.store()
        try store.activate(try ModelStoreTests.install(store, digest: "first"))
        let watch = ModelHealthWatch(modelDigest: "first", rolloutID: "r", previousDigest: "", window: HealthWindow())
        try watch.switchBack(store: store, reason: "because")
        #expect(store.activeModel() == nil)
        #expect(store.record(of: .a)?.modelDigest == "first")
        #expect(RolloutReportOutbox.pending(in: store.root)?.state == .rolledBack)
    }

    @Test func aPreviousModelThatIsGoneIsNotInvented() throws {
        let store = try Self.store()
        try store.activate(try ModelStoreTests.install(store, digest: "first"))
        let watch = ModelHealthWatch(modelDigest: "first", rolloutID: "r", previousDigest: "zero", window: HealthWindow())
        #expect(throws: AgentError.self) { try watch.switchBack(store: store, reason: "because") }
        #expect(store.activeModel()?.record.modelDigest == "first")
        #expect(RolloutReportOutbox.pending(in: store.root) == nil)
    }
}
