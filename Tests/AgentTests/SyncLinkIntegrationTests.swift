import Agent
import Foundation
import Testing

/// How the agent uses its link, against the real coordinator binary (separate processes,
/// loopback): a metered link holds results back and sends them in small compressed batches;
/// a coordinator that refuses compression still gets every result, uncompressed.
@Suite("Sync link settings with the real coordinator", .serialized)
struct SyncLinkIntegrationTests {
    typealias H = SyncProcessHarness
    /// Calls that carried results with `encoding`: UploadResults and Sync with results.
    static func resultCalls(_ coordinator: H.Coordinator, _ encoding: String) async throws -> Int64 {
        try await coordinator.counter("edgevlm_upload_calls_total{encoding=\"\(encoding)\"}")
            + (try await coordinator.counter("edgevlm_sync_upload_calls_total{encoding=\"\(encoding)\"}"))
    }

    /// `metered = true`: after the session's first upload, new results wait (5 minutes, far
    /// beyond this test) although heartbeats go on every second and the non-metered spacing
    /// (`min_upload_interval_seconds = 0.1` here) would have sent them at once; the next session
    /// (agent restart) sends them gzip-compressed in batches of at most 20 although
    /// `batch_size = 100`: 25 results in exactly 2 calls (a Sync carrying 20, an UploadResults of 5).
    @Test func meteredLinkHoldsResultsAndSendsSmallCompressedBatches() async throws {
        try await H.withCoordinatorAndAgent("metered", plaintext: true, batchSize: 100, extraSync: "metered = true") { coordinator, agent in
            // The first round (heartbeat + an upload of the then empty outbox) is done.
            #expect(await H.eventually(20) { agent.syncStatus()?.lastSuccessUnixMs != nil }, "the agent did not sync")
            let deviceID = try #require(agent.syncStatus()?.deviceID)

            try agent.addImages(25)
            #expect(await H.eventually(20) { agent.doneCount() == 25 }, "captioning did not finish")
            let heartbeatsBefore = try #require(try await coordinator.devices().first?.lastSeenUnixMs)
            try await Task.sleep(for: .seconds(3))
            #expect(try await coordinator.results(deviceID: deviceID).isEmpty, "a metered link uploaded results right away")
            #expect(agent.syncStatus()?.outboxBacklog == 25)
            let heartbeatsAfter = try #require(try await coordinator.devices().first?.lastSeenUnixMs)
            #expect(heartbeatsAfter > heartbeatsBefore, "heartbeats stopped on the metered link")
            #expect(try await Self.resultCalls(coordinator, "gzip") == 0)
            #expect(try await Self.resultCalls(coordinator, "identity") == 0)

            agent.stop()
            try agent.start()
            let arrived = try await H.eventually(20) { try await coordinator.results(deviceID: deviceID).count == 25 }
            #expect(arrived, "held-back results did not arrive in the next session")
            #expect(try await Self.resultCalls(coordinator, "gzip") == 2, "25 results in batches of at most 20 are 2 calls")
            #expect(try await Self.resultCalls(coordinator, "identity") == 0, "uploads went uncompressed")
        }
    }

    /// A coordinator started with `--no-compression` answers compressed calls UNIMPLEMENTED; the
    /// agent falls back to uncompressed uploads and every result arrives, with no error left.
    @Test func uncompressedFallbackForACoordinatorWithoutCompression() async throws {
        try await H.withCoordinatorAndAgent("nocompress", plaintext: true, coordinatorFlags: ["--no-compression"]) { coordinator, agent in
            try agent.addImages(7)
            let deviceID = try #require(await agent.enrolledDeviceID(), "the agent did not enroll")
            let arrived = try await H.eventually(20) { try await coordinator.results(deviceID: deviceID).count == 7 }
            #expect(arrived, "results did not reach a coordinator that refuses compression")
            #expect(await H.eventually(5) { agent.syncStatus()?.outboxBacklog == 0 && agent.syncStatus()?.lastError == nil })
            #expect(try await Self.resultCalls(coordinator, "identity") >= 2, "7 results in batches of 5 take at least 2 calls")
            #expect(try await Self.resultCalls(coordinator, "gzip") == 0)
        }
    }
}
