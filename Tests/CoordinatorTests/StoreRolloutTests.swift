@testable import Coordinator
import FleetProtocol
import Foundation
import Testing

/// Rollouts through the store (assignment, reports, pause, rollback, races), on both engines.
@Suite("CoordinatorStore rollouts")
struct StoreRolloutTests {
    let helpers = StoreTests()

    func prepare(_ store: SQLCoordinatorStore, devices: Int, tag: String = "canary") async throws {
        for index in 0..<devices {
            _ = try await helpers.enrollDevice(store, id: String(format: "dev%03d", index), tags: [tag])
        }
        var old = FleetSignedManifest()
        old.manifest = Data("old".utf8)
        try await store.putModel(ModelRecord(digest: "old", name: "m", version: "1", signedManifest: old, registeredAt: 1))
        var new = FleetSignedManifest()
        new.manifest = Data("new".utf8)
        try await store.putModel(ModelRecord(digest: "new", name: "m", version: "2", signedManifest: new, registeredAt: 2))
        // Half the devices report running "old" in their active slot, as the agent does.
        for index in 0..<devices where index % 2 == 0 {
            var status = FleetDeviceStatus()
            var slot = FleetSlotStatus()
            slot.slot = "A"
            slot.modelDigest = "old"
            slot.active = true
            status.slots = [slot]
            try await store.recordHeartbeat(deviceID: String(format: "dev%03d", index), status: status, now: 10)
        }
    }

    func rollout(maxFailures: UInt32 = 2) -> RolloutRecord {
        RolloutRecord(rolloutID: "r1", modelDigest: "new", targetTags: ["canary"],
                      stages: [RolloutStateMachineTests.stage(10, min: 1, soak: 0), RolloutStateMachineTests.stage(100, soak: 0)],
                      policy: RolloutStateMachineTests.policy(success: 100, maxFailures: maxFailures), createdAt: 100)
    }

    @Test("stages assign devices, failures pause, rollback restores previous models", arguments: StoreBackend.allCases)
    func lifecycle(_ backend: StoreBackend) async throws {
        guard let store = try await TestStores.make(backend) else { return }
        defer { Task { await store.close() } }
        try await prepare(store, devices: 20)
        _ = try await helpers.enrollDevice(store, id: "other", tags: ["elsewhere"])
        try await store.createRollout(rollout())
        let first = try await store.advanceRollout(id: "r1", command: nil, now: 1_000)
        #expect(first.currentStage == 0 && first.counts.assigned == 2 && first.counts.target == 20)
        let stage0 = try await store.rolloutDevices(rolloutID: "r1")
        #expect(stage0.count == 2 && stage0.allSatisfy { $0.state == .pending && $0.stage == 0 })
        for device in stage0 {
            let desired = try #require(try await store.desiredModel(deviceID: device.deviceID))
            #expect(desired.model.digest == "new" && desired.rolloutID == "r1")
        }
        #expect(try await store.desiredModel(deviceID: "other") == nil)
        // Nothing reported yet: no promotion.
        #expect(try await store.advanceRollout(id: "r1", command: nil, now: 2_000).currentStage == 0)
        for device in stage0 {
            #expect(try await store.recordRolloutReport(deviceID: device.deviceID, rolloutID: "r1", state: .active,
                                                        reason: "", now: 2_100) == .active)
        }
        let second = try await store.advanceRollout(id: "r1", command: nil, now: 3_000)
        #expect(second.currentStage == 1 && second.counts.assigned == 20 && second.counts.succeeded == 2)
        // A device outside the rollout cannot report into it.
        let outsider = await #expect(throws: CoordinatorError.self) {
            _ = try await store.recordRolloutReport(deviceID: "other", rolloutID: "r1", state: .active, reason: "", now: 1)
        }
        #expect(outsider?.kind == .permissionDenied)
        let stage1 = try await store.rolloutDevices(rolloutID: "r1").filter { $0.stage == 1 }
        _ = try await store.recordRolloutReport(deviceID: stage1[0].deviceID, rolloutID: "r1", state: .failed,
                                                reason: "sha256 mismatch", now: 3_100)
        #expect(try await store.advanceRollout(id: "r1", command: nil, now: 3_200).phase == .running)
        _ = try await store.recordRolloutReport(deviceID: stage1[1].deviceID, rolloutID: "r1", state: .rolledBack,
                                                reason: "canary eval failed", now: 3_300)
        // A later success report does not erase a failure.
        #expect(try await store.recordRolloutReport(deviceID: stage1[1].deviceID, rolloutID: "r1", state: .active,
                                                    reason: "", now: 3_350) == .rolledBack)
        let paused = try await store.advanceRollout(id: "r1", command: nil, now: 3_400)
        #expect(paused.phase == .paused && paused.counts.failed == 2)
        #expect(paused.phaseReason.contains("2 device failures"))
        let reasons = try await store.rolloutDevices(rolloutID: "r1").map(\.reason).filter { !$0.isEmpty }.sorted()
        #expect(reasons == ["canary eval failed", "sha256 mismatch"])
        // Stored state survives a re-read.
        #expect(try await store.rollout(id: "r1")?.phase == .paused)
        let rolledBack = try await store.advanceRollout(id: "r1", command: .rollback(reason: "bad"), now: 4_000)
        #expect(rolledBack.phase == .rolledBack && rolledBack.phaseReason == "bad")
        for index in 0..<20 {
            let id = String(format: "dev%03d", index)
            let desired = try await store.desiredModel(deviceID: id)
            // Devices that ran "old" go back to it; the others had no model before.
            #expect(desired?.model.digest == (index % 2 == 0 ? "old" : nil), "device \(id)")
        }
        #expect(try await store.listRollouts().map(\.rolloutID) == ["r1"])
    }

    @Test("two store instances racing on one rollout promote exactly once", arguments: StoreBackend.allCases)
    func racingPromotion(_ backend: StoreBackend) async throws {
        guard let location = try await TestStores.freshLocation(backend) else { return }
        let first = try TestStores.open(backend, location)
        let second = try TestStores.open(backend, location)
        try await first.migrate()
        try await second.migrate()
        try await prepare(first, devices: 30)
        try await first.createRollout(rollout())
        let results = try await withThrowingTaskGroup(of: RolloutRecord.self) { group in
            for index in 0..<16 {
                let store = index % 2 == 0 ? first : second
                group.addTask { try await store.advanceRollout(id: "r1", command: nil, now: 1_000) }
            }
            return try await group.reduce(into: [RolloutRecord]()) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0.currentStage == 0 && $0.counts.assigned == 3 })
        #expect(try await second.rolloutDevices(rolloutID: "r1").count == 3)
        // Racing reports and evaluations: stage 1 is assigned once, to all 30.
        let assigned = try await first.rolloutDevices(rolloutID: "r1")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, device) in assigned.enumerated() {
                let store = index % 2 == 0 ? first : second
                group.addTask {
                    _ = try await store.recordRolloutReport(deviceID: device.deviceID, rolloutID: "r1", state: .active,
                                                            reason: "", now: 1_500)
                    _ = try await store.advanceRollout(id: "r1", command: nil, now: 2_000)
                }
            }
            try await group.waitForAll()
        }
        let final = try #require(try await second.rollout(id: "r1"))
        #expect(final.currentStage == 1 && final.counts.assigned == 30)
        await first.close()
        await second.close()
    }
}
