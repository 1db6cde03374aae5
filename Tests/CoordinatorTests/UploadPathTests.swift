@testable import Coordinator
import FleetProtocol
import Foundation
import Testing

/// The upload fast path: many devices' uploads share one credential read and one INSERT;
/// each caller is answered after its results are stored; refused callers store nothing.
@Suite("Upload path")
struct UploadPathTests {
    let heartbeatTests = HeartbeatPathTests()
    let storeTests = StoreTests()

    @Test("several devices' uploads in one INSERT: per-upload acks and inserted counts", arguments: StoreBackend.allCases)
    func batchedIngest(_ backend: StoreBackend) async throws {
        guard let store = try await TestStores.make(backend) else { return }
        defer { Task { await store.close() } }
        for id in ["d1", "d2"] { _ = try await storeTests.enrollDevice(store, id: id) }
        _ = try await store.ingest(deviceID: "d1", results: [storeTests.result(1)], receivedAt: 5)
        let outcomes = try await store.ingest([
            ResultUpload(deviceID: "d1", results: [1, 2, 2, 3].map { storeTests.result($0) }, receivedAt: 10),
            ResultUpload(deviceID: "d2", results: [1].map { storeTests.result($0) }, receivedAt: 11),
            ResultUpload(deviceID: "d3", results: [], receivedAt: 12),
        ])
        #expect(outcomes == [IngestOutcome(ackedSeqs: [1, 2, 3], inserted: 2), IngestOutcome(ackedSeqs: [1], inserted: 1),
                             IngestOutcome(ackedSeqs: [], inserted: 0)])
        let stored = try await store.queryResults(ResultQuery(limit: 100))
        #expect(stored.map { "\($0.deviceID):\($0.result.seq):\($0.receivedAt)" }.sorted() == ["d1:1:5", "d1:2:10", "d1:3:10", "d2:1:11"])
        let access = try await store.deviceAccess(ids: ["d1", "d2", "nope"])
        #expect(access.keys.sorted() == ["d1", "d2"] && access["d2"]?.credentialHash == Digests.sha256Hex("secret-d2"))
    }

    @Test("concurrent uploads share batches, store each result once; refusals store nothing", arguments: StoreBackend.allCases)
    func coalescing(_ backend: StoreBackend) async throws {
        guard let location = try await TestStores.freshLocation(backend) else { return }
        let store = try TestStores.open(backend, location)
        try await store.migrate()
        let replica = try TestStores.open(backend, location)
        defer { Task { await store.close(); await replica.close() } }
        let core = try heartbeatTests.core(store, writers: 1)
        var credentials: [(String, String)] = []
        for index in 0..<30 {
            let id = String(format: "dev%02d", index)
            credentials.append((id, try await heartbeatTests.enroll(store, id)))
        }
        let (locked, lockedSignal) = AsyncStream.makeStream(of: Void.self)
        let blocker = Task {
            try await store.database.transaction { connection in
                _ = try await connection.execute("UPDATE devices SET name = name", [])
                // SQLite: the transaction holds the one connection. PostgreSQL: block INSERTs.
                if backend == .postgres { _ = try await connection.execute("LOCK TABLE results IN SHARE MODE", []) }
                lockedSignal.yield()
                try await Task.sleep(for: .milliseconds(300))
            }
        }
        for await _ in locked { break }
        // Each device uploads seqs 1...4 twice at once (a retry racing the original).
        let outcomes = try await withThrowingTaskGroup(of: IngestOutcome.self) { group in
            for (id, credential) in credentials {
                for _ in 0..<2 {
                    group.addTask {
                        try await core.uploadResults(token: credential, claimed: id, results: (1...4).map { storeTests.result($0) })
                    }
                }
            }
            return try await group.reduce(into: [IngestOutcome]()) { $0.append($1) }
        }
        try await blocker.value
        #expect(outcomes.count == 60 && outcomes.allSatisfy { $0.ackedSeqs == [1, 2, 3, 4] })
        #expect(outcomes.map(\.inserted).reduce(0, +) == 120)
        let batches = core.metrics.value("edgevlm_upload_batches_total")
        #expect(batches >= 2 && batches < 15, "batches: \(batches)")
        #expect(try await store.queryResults(ResultQuery(limit: 1_000)).count == 120)
        // Wrong secret, another device's id, revoked by the other replica: refused, nothing stored.
        let (firstID, first) = credentials[0]
        let wrong = await #expect(throws: CoordinatorError.self) {
            _ = try await core.uploadResults(token: "\(firstID).nope", claimed: "", results: [storeTests.result(50)])
        }
        #expect(wrong?.kind == .unauthenticated)
        let impersonation = await #expect(throws: CoordinatorError.self) {
            _ = try await core.uploadResults(token: first, claimed: credentials[1].0, results: [storeTests.result(51)])
        }
        #expect(impersonation?.kind == .permissionDenied)
        _ = try await replica.revoke(deviceID: firstID, reason: "lost", now: 9)
        let revoked = await #expect(throws: CoordinatorError.self) {
            _ = try await core.uploadResults(token: first, claimed: firstID, results: [storeTests.result(52)])
        }
        #expect(revoked?.kind == .unauthenticated && revoked?.message.contains("revoked") == true)
        #expect(try await store.queryResults(ResultQuery(limit: 1_000)).count == 120)
    }

    @Test("authenticated ingest: the INSERT itself checks credential and revocation; duplicates and empty uploads are acknowledged",
          arguments: StoreBackend.allCases)
    func authenticatedIngest(_ backend: StoreBackend) async throws {
        guard let store = try await TestStores.make(backend) else { return }
        defer { Task { await store.close() } }
        for id in ["d1", "d2", "d3", "d4", "d5"] { _ = try await storeTests.enrollDevice(store, id: id) }
        _ = try await store.revoke(deviceID: "d3", reason: "stolen", now: 7)
        _ = try await store.ingest(deviceID: "d5", results: [1, 2].map { storeTests.result($0) }, receivedAt: 5)
        let hash = { (id: String) in Digests.sha256Hex("secret-\(id)") }
        func upload(_ id: String, _ seqs: [UInt64], hash credential: String) -> AuthenticatedUpload {
            AuthenticatedUpload(upload: ResultUpload(deviceID: id, results: seqs.map { storeTests.result($0) }, receivedAt: 10),
                                credentialHash: credential)
        }
        let answers = try await store.ingest(authenticated: [
            upload("d1", [1, 2, 2], hash: hash("d1")),     // stored (a seq twice in one upload)
            upload("d2", [1], hash: hash("d1")),           // another device's credential: refused
            upload("d3", [1], hash: hash("d3")),           // revoked: refused
            upload("ghost", [1], hash: hash("ghost")),     // unknown: refused
            upload("d4", [], hash: hash("d4")),            // empty: acknowledged, nothing to store
            upload("d5", [1, 2], hash: hash("d5")),        // all duplicates: acknowledged
        ])
        #expect(answers == [IngestOutcome(ackedSeqs: [1, 2], inserted: 2), nil, nil, nil,
                            IngestOutcome(ackedSeqs: [], inserted: 0), IngestOutcome(ackedSeqs: [1, 2], inserted: 0)])
        let emptyRefused = try await store.ingest(authenticated: [upload("d2", [], hash: hash("d1")),
                                                                  upload("d5", [1], hash: hash("d1"))])
        #expect(emptyRefused == [nil, nil])
        let stored = try await store.queryResults(ResultQuery(limit: 100))
        #expect(stored.map { "\($0.deviceID):\($0.result.seq)" }.sorted() == ["d1:1", "d1:2", "d5:1", "d5:2"])
    }

    /// The window the old path had: credentials read, then (while the INSERT waited) the device
    /// revoked by another coordinator process, then the INSERT stored the results anyway. Now
    /// the check is part of the INSERT, so an INSERT that runs after the revocation stores
    /// nothing. PostgreSQL only: it is where replicas revoke while a statement waits.
    @Test("a revocation committed while an upload waits for its INSERT refuses the upload")
    func revocationWhileInsertWaits() async throws {
        guard let location = try await TestStores.freshLocation(.postgres) else { return }
        let store = try TestStores.open(.postgres, location)
        try await store.migrate()
        let replica = try TestStores.open(.postgres, location)
        defer { Task { await store.close(); await replica.close() } }
        let core = try heartbeatTests.core(store, writers: 1)
        let credential = try await heartbeatTests.enroll(store, "dev")
        let (locked, lockedSignal) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseSignal) = AsyncStream.makeStream(of: Void.self)
        let blocker = Task {
            try await store.database.transaction { connection in
                _ = try await connection.execute("LOCK TABLE results IN SHARE MODE", [])
                lockedSignal.yield()
                for await _ in release { break }
            }
        }
        for await _ in locked { break }
        let upload = Task { try await core.uploadResults(token: credential, claimed: "dev", results: [storeTests.result(1)]) }
        // Give the upload time to reach its INSERT (which waits for the lock), then revoke.
        try await Task.sleep(for: .milliseconds(300))
        _ = try await replica.revoke(deviceID: "dev", reason: "lost", now: 9)
        releaseSignal.yield()
        try await blocker.value
        let refused = await #expect(throws: CoordinatorError.self) { _ = try await upload.value }
        #expect(refused?.kind == .unauthenticated && refused?.message.contains("revoked") == true)
        #expect(try await store.queryResults(ResultQuery(limit: 10)).isEmpty)
    }
}
