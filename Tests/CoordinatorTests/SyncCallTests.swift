@testable import Coordinator
import FleetProtocol
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

/// The one-call `Sync` RPC over real gRPC (TLS) on loopback: it stores the status and the
/// results as Heartbeat and UploadResults do, with the same checks, on both engines.
@Suite("Sync call", .serialized)
struct SyncCallTests {
    func request(queueDepth: UInt32, seqs: [UInt64]) -> Edgevlm_Fleet_V1_SyncRequest {
        var request = Edgevlm_Fleet_V1_SyncRequest()
        request.status.queueDepth = queueDepth
        request.status.agentVersion = "sync-test"
        request.results = seqs.map(ServerTests.result)
        return request
    }

    @Test("status and results in one call: stored, acknowledged, idempotent; impersonation, limits and revocation refused",
          arguments: StoreBackend.allCases)
    func syncCycle(_ backend: StoreBackend) async throws {
        guard let harness = try await ServerHarness.start(backend) else { return }
        do {
            try await harness.withClient { client in
                let devices = FleetDeviceService.Client(wrapping: client)
                let operators = FleetOperatorService.Client(wrapping: client)
                let token = try await harness.enrollmentToken(client, uses: 2)
                let (id, credential) = try await ServerHarness.enroll(client, token: token, hardwareID: "hw-sync-1")
                let (otherID, _) = try await ServerHarness.enroll(client, token: token, hardwareID: "hw-sync-2")
                let auth = FleetAuthorization.metadata(bearer: credential)
                func stored() async throws -> [UInt64] {
                    var query = Edgevlm_Fleet_V1_QueryResultsRequest()
                    query.deviceID = id
                    return try await operators.queryResults(query, metadata: harness.operatorMetadata).results.map(\.result.seq)
                }
                func device() async throws -> Edgevlm_Fleet_V1_Device? {
                    try await operators.listDevices(.init(), metadata: harness.operatorMetadata).devices.first { $0.deviceID == id }
                }

                let first = try await devices.sync(request(queueDepth: 7, seqs: [1, 2, 3]), metadata: auth)
                #expect(first.ackedSeqs == [1, 2, 3] && first.inserted == 3)
                #expect(first.desired.pollIntervalSeconds >= 54 && first.desired.pollIntervalSeconds <= 66)
                #expect(abs(first.desired.serverTimeUnixMs - Int64(Date().timeIntervalSince1970 * 1000)) < 60_000)
                #expect(try await device()?.lastStatus.queueDepth == 7)
                #expect(try await device()?.lastSeenUnixMs ?? 0 > 0)
                // A retry overlapping the first batch: acknowledged, stored once.
                let retry = try await devices.sync(request(queueDepth: 2, seqs: [3, 2, 4]), metadata: auth)
                #expect(retry.ackedSeqs == [3, 2, 4] && retry.inserted == 1)
                // No results: a heartbeat only.
                let beat = try await devices.sync(request(queueDepth: 5, seqs: []), metadata: auth)
                #expect(beat.ackedSeqs.isEmpty && beat.inserted == 0 && beat.desired.serverTimeUnixMs > 0)
                #expect(try await device()?.lastStatus.queueDepth == 5)
                #expect(try await stored() == [1, 2, 3, 4])

                // Another device's id, no credential, an oversized batch, oversized text: refused, nothing stored.
                var impersonating = request(queueDepth: 9, seqs: [10])
                impersonating.deviceID = otherID
                await #expect { _ = try await devices.sync(impersonating, metadata: auth) } throws: {
                    RPCError.Code.of($0) == .permissionDenied
                }
                await #expect { _ = try await devices.sync(request(queueDepth: 9, seqs: [11])) } throws: {
                    RPCError.Code.of($0) == .unauthenticated
                }
                await #expect { _ = try await devices.sync(request(queueDepth: 9, seqs: Array(100..<1_101)), metadata: auth) } throws: {
                    RPCError.Code.of($0) == .invalidArgument
                }
                var big = request(queueDepth: 9, seqs: [12])
                big.results[0].text = String(repeating: "x", count: 70_000)
                await #expect { _ = try await devices.sync(big, metadata: auth) } throws: {
                    RPCError.Code.of($0) == .invalidArgument
                }
                #expect(try await stored() == [1, 2, 3, 4])
                #expect(try await device()?.lastStatus.queueDepth == 5)

                // Revoked: refused at once, with or without results.
                var revoke = Edgevlm_Fleet_V1_RevokeDeviceRequest()
                revoke.deviceID = id
                revoke.reason = "lost"
                #expect(try await operators.revokeDevice(revoke, metadata: harness.operatorMetadata).revoked)
                for seqs: [UInt64] in [[], [20]] {
                    await #expect { _ = try await devices.sync(request(queueDepth: 1, seqs: seqs), metadata: auth) } throws: {
                        RPCError.Code.of($0) == .unauthenticated
                    }
                }
                #expect(try await stored() == [1, 2, 3, 4])
            }
            let metrics = harness.server.core.metrics
            #expect(metrics.value("edgevlm_sync_calls_total") == 3)
            #expect(metrics.value("edgevlm_results_ingested_total") == 4)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    /// With `serveSyncCall = false` the coordinator answers as one that predates `Sync`
    /// (UNIMPLEMENTED), which is what agents fall back on; nothing is stored.
    @Test("serveSyncCall = false answers UNIMPLEMENTED and stores nothing")
    func syncNotServed() async throws {
        guard let harness = try await ServerHarness.start(.sqlite, configure: { $0.serveSyncCall = false }) else { return }
        do {
            try await harness.withClient { client in
                let token = try await harness.enrollmentToken(client)
                let (_, credential) = try await ServerHarness.enroll(client, token: token, hardwareID: "hw-old")
                let devices = FleetDeviceService.Client(wrapping: client)
                await #expect {
                    _ = try await devices.sync(request(queueDepth: 1, seqs: [1]), metadata: FleetAuthorization.metadata(bearer: credential))
                } throws: { RPCError.Code.of($0) == .unimplemented }
            }
            #expect(harness.server.core.metrics.value("edgevlm_results_ingested_total") == 0)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }
}
