@testable import Coordinator
import FleetProtocol
import Foundation
import Testing

/// The `Sync` fast path: a device's status and results are stored in one store transaction
/// (one statement on PostgreSQL) shared with other devices' cycles, with the credential and
/// revocation check inside it — stored together or not at all; a revocation by another
/// coordinator process on the same database is seen on the next call. Both engines.
@Suite("Sync path")
struct SyncPathTests {
    let helpers = StoreTests()
    let heartbeats = HeartbeatPathTests()

    func write(_ id: String, hash: String? = nil, depth: UInt32, seqs: [UInt64], now: Int64 = 500) -> SyncWrite {
        SyncWrite(heartbeat: HeartbeatWrite(deviceID: id, credentialHash: hash ?? Digests.sha256Hex("secret-\(id)"),
                                            status: heartbeats.status(depth), now: now),
                  results: seqs.map { helpers.result($0, text: "\(id) #\($0)") })
    }

    func storedSeqs(_ store: SQLCoordinatorStore, _ id: String) async throws -> [UInt64] {
        try await store.queryResults(ResultQuery(deviceID: id, limit: 100)).map(\.result.seq).sorted()
    }

    @Test("one transaction stores status and results of devices that pass the check, nothing of the others",
          arguments: StoreBackend.allCases)
    func batchedWrite(_ backend: StoreBackend) async throws {
        guard let store = try await TestStores.make(backend) else { return }
        defer { Task { await store.close() } }
        for id in ["d1", "d2", "d3", "d4", "d5"] { _ = try await helpers.enrollDevice(store, id: id) }
        _ = try await store.revoke(deviceID: "d3", reason: "stolen", now: 5)
        _ = try await store.database.execute("UPDATE devices SET desired_model = 'm1', desired_rollout = 'r1' WHERE device_id = 'd1'", [])
        // d5 sent seq 7 before (a retry overlaps it).
        _ = try await store.ingest(deviceID: "d5", results: [helpers.result(7, text: "d5 #7")], receivedAt: 100)

        let answers = try await store.recordSyncs([
            write("d5", depth: 5, seqs: [8, 7, 9, 8]),
            write("d1", depth: 1, seqs: [1, 2]),
            write("d2", hash: Digests.sha256Hex("secret-d1"), depth: 2, seqs: [1]),
            write("d3", depth: 3, seqs: [1]),
            write("ghost", depth: 4, seqs: [1]),
            write("d4", depth: 6, seqs: [], now: 600),
        ])
        let none = DeviceAssignment(modelDigest: "", rolloutID: "")
        #expect(answers == [
            SyncOutcome(assignment: none, upload: IngestOutcome(ackedSeqs: [8, 7, 9], inserted: 2)),
            SyncOutcome(assignment: DeviceAssignment(modelDigest: "m1", rolloutID: "r1"),
                        upload: IngestOutcome(ackedSeqs: [1, 2], inserted: 2)),
            nil, nil, nil,
            SyncOutcome(assignment: none, upload: IngestOutcome(ackedSeqs: [], inserted: 0)),
        ])
        #expect(try await storedSeqs(store, "d1") == [1, 2])
        #expect(try await storedSeqs(store, "d5") == [7, 8, 9])
        let d1 = try #require(try await store.device(id: "d1"))
        #expect(d1.lastSeen == 500 && d1.lastStatus?.queueDepth == 1)
        #expect(try await store.device(id: "d4")?.lastSeen == 600)
        let d1Rows = try await store.queryResults(ResultQuery(deviceID: "d1", limit: 10))
        #expect(d1Rows.allSatisfy { $0.receivedAt == 500 } && d1Rows.map(\.result.text).sorted() == ["d1 #1", "d1 #2"])
        for id in ["d2", "d3"] {
            let refused = try #require(try await store.device(id: id))
            #expect(refused.lastSeen == 0 && refused.lastStatus == nil)
            #expect(try await storedSeqs(store, id).isEmpty)
        }
        #expect(try await store.device(id: "ghost") == nil)
        #expect(try await storedSeqs(store, "ghost").isEmpty)
        // An empty batch is no statement and no answer.
        #expect(try await store.recordSyncs([]).isEmpty)
    }

    @Test("concurrent Sync calls share transactions; each caller's status and results are stored before it is answered",
          arguments: StoreBackend.allCases)
    func coalescing(_ backend: StoreBackend) async throws {
        guard let store = try await TestStores.make(backend) else { return }
        defer { Task { await store.close() } }
        let core = try heartbeats.core(store, writers: 1)
        var credentials: [String: String] = [:]
        for index in 0..<30 {
            let id = String(format: "dev%02d", index)
            credentials[id] = try await heartbeats.enroll(store, id)
        }
        // Hold the device rows so the first batch waits and the other calls pile up behind it.
        let blocker = await TestStores.holdDeviceRows(store)
        // Three cycles per device (two of them at once for the same device), 2 results each.
        let calls = credentials.sorted(by: { $0.key < $1.key }).enumerated().flatMap { index, entry in
            (0..<3).map { round in
                (id: entry.key, credential: entry.value, depth: UInt32(index * 10 + round), seqs: [UInt64(round * 2 + 1), UInt64(round * 2 + 2)])
            }
        }
        let answered = try await withThrowingTaskGroup(of: (String, IngestOutcome).self) { group in
            for call in calls {
                group.addTask {
                    let answer = try await core.sync(token: call.credential, claimed: call.id, status: heartbeats.status(call.depth),
                                                     results: call.seqs.map { helpers.result($0) })
                    return (call.id, answer.upload)
                }
            }
            return try await group.reduce(into: [(String, IngestOutcome)]()) { $0.append($1) }
        }
        try await blocker.value
        #expect(answered.count == calls.count)
        #expect(answered.allSatisfy { $0.1.ackedSeqs.count == 2 && $0.1.inserted == 2 })
        let batches = core.metrics.value("edgevlm_sync_batches_total")
        // 90 cycles of 30 devices: a device goes at most once per batch, so at least 3.
        #expect(batches >= 3 && batches < Int64(calls.count) / 4, "batches: \(batches)")
        for (id, _) in credentials {
            let device = try #require(try await store.device(id: id))
            let sent = Set(calls.filter { $0.id == id }.map(\.depth))
            #expect(device.lastSeen > 0 && sent.contains(device.lastStatus?.queueDepth ?? 999))
            #expect(try await storedSeqs(store, id) == [1, 2, 3, 4, 5, 6])
        }
    }

    @Test("refusals: wrong secret, another device's id, revocation by a second replica; nothing stored",
          arguments: StoreBackend.allCases)
    func refusals(_ backend: StoreBackend) async throws {
        guard let location = try await TestStores.freshLocation(backend) else { return }
        let replicaA = try TestStores.open(backend, location)
        try await replicaA.migrate()
        let replicaB = try TestStores.open(backend, location)
        defer { Task { await replicaA.close(); await replicaB.close() } }
        let core = try heartbeats.core(replicaA)
        let first = try await heartbeats.enroll(replicaA, "first")
        _ = try await heartbeats.enroll(replicaA, "second")
        let ok = try await core.sync(token: first, claimed: "", status: heartbeats.status(1), results: [helpers.result(1)])
        #expect(ok.upload == IngestOutcome(ackedSeqs: [1], inserted: 1))
        let wrong = await #expect(throws: CoordinatorError.self) {
            _ = try await core.sync(token: "first.not-the-secret", claimed: "", status: heartbeats.status(2), results: [helpers.result(2)])
        }
        #expect(wrong?.kind == .unauthenticated)
        let impersonation = await #expect(throws: CoordinatorError.self) {
            _ = try await core.sync(token: first, claimed: "second", status: heartbeats.status(3), results: [helpers.result(3)])
        }
        #expect(impersonation?.kind == .permissionDenied)
        // The other replica revokes; this one refuses the very next call and stores nothing of it.
        _ = try await replicaB.revoke(deviceID: "first", reason: "lost", now: 9)
        let revoked = await #expect(throws: CoordinatorError.self) {
            _ = try await core.sync(token: first, claimed: "first", status: heartbeats.status(4), results: [helpers.result(4)])
        }
        #expect(revoked?.kind == .unauthenticated && revoked?.message.contains("revoked: lost") == true)
        #expect(try await replicaA.device(id: "first")?.lastStatus?.queueDepth == 1)
        #expect(try await storedSeqs(replicaB, "first") == [1])
        #expect(try await replicaA.device(id: "second")?.lastSeen == 0)
        #expect(try await storedSeqs(replicaB, "second").isEmpty)
    }
}
