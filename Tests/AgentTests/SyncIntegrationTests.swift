import Agent
import Foundation
import Testing

/// The agent's sync against the real coordinator binary, both as separate processes on
/// loopback with TLS. Bounded: each test waits at most ~40 s in total.
@Suite("Sync with the real coordinator", .serialized)
struct SyncIntegrationTests {
    typealias H = SyncProcessHarness

    /// Online upload; coordinator down while results pile up; coordinator back while the agent
    /// is killed with SIGKILL repeatedly during the uploads. Every local result arrives exactly
    /// once, with the same text, and the device enrolled only once.
    @Test func resultsArriveExactlyOnceAcrossOutagesAndKills() async throws {
        try await H.withCoordinatorAndAgent("sync") { coordinator, agent in
            // 1. Online: enroll, then 10 results reach the coordinator.
            try agent.addImages(10)
            let deviceID = try #require(await agent.enrolledDeviceID(), "the agent did not enroll")
            let online = try await H.eventually(20) { try await coordinator.results(deviceID: deviceID).count == 10 }
            #expect(online, "10 results did not reach the coordinator")

            // 2. Coordinator down: captioning goes on, the backlog grows, the error is reported.
            coordinator.stop()
            try agent.addImages(60)
            #expect(await H.eventually(20) { agent.doneCount() == 70 }, "the agent stopped captioning while offline")
            #expect(await H.eventually(5) { (agent.syncStatus()?.outboxBacklog ?? 0) > 0 && agent.syncStatus()?.lastError != nil })

            // 3. Coordinator back on the same port; kill -9 the agent during the uploads, three times.
            try coordinator.start()
            for delay in [150, 300, 450] {
                try await Task.sleep(for: .milliseconds(delay))
                agent.kill9()
                try agent.start()
            }
            let all = try await H.eventually(25) { try await coordinator.results(deviceID: deviceID).count >= 70 }
            #expect(all, "not every result arrived after the coordinator came back")
            #expect(await H.eventually(5) { agent.syncStatus()?.outboxBacklog == 0 && agent.syncStatus()?.lastError == nil })
            agent.stop()

            // Exactly once: same job ids, same captions, nothing extra; one enrollment.
            let local = try agent.localResults()
            let remote = try await coordinator.results(deviceID: deviceID)
            #expect(local.count == 70)
            #expect(remote.count == local.count)
            #expect(Set(remote.map(\.result.seq)).count == remote.count)
            let remoteByJob = Dictionary(remote.map { ($0.result.jobID, $0.result.text) }, uniquingKeysWith: { a, _ in a + " (twice)" })
            #expect(remoteByJob == local)
            let devices = try await coordinator.devices()
            #expect(devices.map(\.deviceID) == [deviceID])
            #expect(devices.first?.lastStatus.agentVersion.isEmpty == false)
        }
    }

    /// A revoked device is refused; the agent says so and keeps captioning locally. Runs over
    /// TLS and over explicit plaintext (`insecure_plaintext = true`).
    @Test(arguments: [false, true])
    func revokedDeviceIsRefusedAndReported(plaintext: Bool) async throws {
        try await H.withCoordinatorAndAgent("revoke", plaintext: plaintext) { coordinator, agent in
            try agent.addImages(3)
            let deviceID = try #require(await agent.enrolledDeviceID(), "the agent did not enroll")
            #expect(try await H.eventually(20) { try await coordinator.results(deviceID: deviceID).count == 3 })

            try await coordinator.revoke(deviceID: deviceID)
            try agent.addImages(2)
            let refused = await H.eventually(20) { agent.syncStatus()?.refused == true }
            #expect(refused, "the agent did not report the refusal")
            let status = try #require(agent.syncStatus())
            #expect(status.lastError?.contains("revoked") == true)
            #expect(await H.eventually(10) { agent.doneCount() == 5 }, "local captioning stopped after revocation")
            #expect(status.outboxBacklog == 2 || agent.syncStatus()?.outboxBacklog == 2)
            #expect(try await coordinator.results(deviceID: deviceID).count == 3)
            // Refused means a long wait, not a hot retry loop: the state holds over a few poll intervals.
            try await Task.sleep(for: .seconds(2))
            #expect(agent.syncStatus()?.refused == true)
            #expect(try await coordinator.devices().first?.revoked == true)
        }
    }

    /// `[sync] windows`: results finished before the window opens stay in the outbox (the device
    /// still enrolls and heartbeats) and reach the coordinator once it opens.
    @Test func resultsWaitForTheSyncWindow() async throws {
        // A window opening 20 s from now (local wall clock, second precision) and lasting an hour.
        let opens = Date().addingTimeInterval(20)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .current
        formatter.dateFormat = "HH:mm:ss"
        let window = "\(formatter.string(from: opens))-\(formatter.string(from: opens.addingTimeInterval(3600)))"
        try await H.withCoordinatorAndAgent("window", plaintext: true, extraSync: "windows = [\"\(window)\"]") { coordinator, agent in
            try agent.addImages(3)
            let deviceID = try #require(await agent.enrolledDeviceID(within: 10), "the agent did not enroll outside the window")
            #expect(await H.eventually(10) { agent.doneCount() == 3 && agent.syncStatus()?.nextUploadWindowUnixMs != nil })
            let closedCheck = Date()
            let heldBack = try await coordinator.results(deviceID: deviceID).count
            let backlog = agent.syncStatus()?.outboxBacklog
            try #require(closedCheck < opens.addingTimeInterval(-1), "the machine was too slow to check before the window opened")
            #expect(heldBack == 0, "results were uploaded outside the window")
            #expect(backlog == 3)
            let arrived = try await H.eventually(25) { try await coordinator.results(deviceID: deviceID).count == 3 }
            #expect(arrived, "results did not arrive when the window opened")
            #expect(Date() >= opens.addingTimeInterval(-1))
            #expect(await H.eventually(5) { agent.syncStatus()?.outboxBacklog == 0 && agent.syncStatus()?.nextUploadWindowUnixMs == nil })
        }
    }

    /// Against the current coordinator each round starts with one `Sync` call carrying results
    /// (gzip); against one without `Sync` (`--no-sync-call`, as a coordinator before it) the agent
    /// falls back to Heartbeat + UploadResults; against one without compression it sends `Sync`
    /// uncompressed; against one with neither, uncompressed Heartbeat + UploadResults. Every
    /// result arrives once in each case.
    @Test(arguments: [[], ["--no-sync-call"], ["--no-compression"], ["--no-sync-call", "--no-compression"]])
    func syncCallOrFallback(coordinatorFlags: [String]) async throws {
        try await H.withCoordinatorAndAgent("synccall", coordinatorFlags: coordinatorFlags) { coordinator, agent in
            try agent.addImages(12)
            let deviceID = try #require(await agent.enrolledDeviceID(), "the agent did not enroll")
            let arrived = try await H.eventually(25) { try await coordinator.results(deviceID: deviceID).count == 12 }
            #expect(arrived, "12 results did not reach the coordinator")
            #expect(await H.eventually(5) { agent.syncStatus()?.outboxBacklog == 0 && agent.syncStatus()?.lastError == nil })
            let remote = try await coordinator.results(deviceID: deviceID)
            #expect(Set(remote.map(\.result.seq)).count == 12)
            #expect(try await coordinator.devices().first?.lastStatus.agentVersion.isEmpty == false)
            let syncCalls = try await coordinator.counter("edgevlm_sync_calls_total")
            let syncGzip = try await coordinator.counter("edgevlm_sync_upload_calls_total{encoding=\"gzip\"}")
            let syncPlain = try await coordinator.counter("edgevlm_sync_upload_calls_total{encoding=\"identity\"}")
            let uploadCalls = try await coordinator.counter("edgevlm_upload_calls_total{encoding=\"gzip\"}")
                + (try await coordinator.counter("edgevlm_upload_calls_total{encoding=\"identity\"}"))
            switch coordinatorFlags {
            case ["--no-sync-call"]:
                #expect(syncCalls == 0 && uploadCalls > 0, "sync \(syncCalls), uploads \(uploadCalls)")
            case ["--no-sync-call", "--no-compression"]:
                // Neither Sync nor compression: the two UNIMPLEMENTEDs are told apart.
                let plainUploads = try await coordinator.counter("edgevlm_upload_calls_total{encoding=\"identity\"}")
                #expect(syncCalls == 0 && plainUploads > 0, "sync \(syncCalls), plain uploads \(plainUploads)")
            case ["--no-compression"]:
                #expect(syncCalls > 0 && syncPlain > 0 && syncGzip == 0, "sync \(syncCalls), plain \(syncPlain), gzip \(syncGzip)")
            default:
                // Batches beyond the first of a round go as UploadResults (batch_size = 5 here).
                #expect(syncCalls > 0 && syncGzip > 0, "sync \(syncCalls), gzip \(syncGzip), uploads \(uploadCalls)")
            }
        }
    }

    /// A damaged identity file stops sync (it never re-enrolls behind the operator's back) but
    /// not the agent: captioning goes on and the status names the file.
    @Test func damagedIdentityStopsSyncNotTheAgent() async throws {
        try await H.withCoordinatorAndAgent("damaged", plaintext: true, beforeAgentStarts: { agent in
            let sync = agent.state.appendingPathComponent("sync")
            try FileManager.default.createDirectory(at: sync, withIntermediateDirectories: true)
            try Data("{\"device_id\": ".utf8).write(to: sync.appendingPathComponent("identity.json"))
        }) { coordinator, agent in
            try agent.addImages(3)
            #expect(await H.eventually(20) { agent.doneCount() == 3 }, "captioning stopped")
            let status = try #require(agent.syncStatus())
            #expect(status.refused && status.deviceID == nil)
            #expect(status.lastError?.contains("identity.json") == true)
            #expect(try await coordinator.devices().isEmpty)
        }
    }
}
