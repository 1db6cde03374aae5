@testable import Coordinator
import FleetProtocol
import Foundation
import Testing

/// The one store suite, run against SQLite and PostgreSQL.
@Suite("CoordinatorStore")
struct StoreTests {
    static let hour: Int64 = 3_600_000

    func enrollDevice(_ store: SQLCoordinatorStore, id: String, tags: [String] = ["lobby"], now: Int64 = 1_000) async throws -> DeviceRecord {
        let token = "token-\(id)"
        try await store.createEnrollmentToken(EnrollmentTokenRecord(
            tokenHash: Digests.sha256Hex(token), maxUses: 1, tags: tags, expiresAt: now + Self.hour, createdAt: now,
            createdBy: "operator:test"))
        return try await store.enroll(tokenHash: Digests.sha256Hex(token),
                                      device: NewDeviceRecord(deviceID: id, hardwareID: "hw-\(id)", name: id,
                                                              credentialHash: Digests.sha256Hex("secret-\(id)")),
                                      now: now)
    }

    func result(_ seq: UInt64, at time: Int64 = 5_000, model: String = "m1", text: String? = nil) -> FleetResult {
        var result = FleetResult()
        result.seq = seq
        result.jobID = "job-\(seq)"
        result.createdAtUnixMs = time
        result.modelDigest = model
        result.source = "camera0"
        result.text = text ?? "caption \(seq)"
        result.latencyMs = 42
        return result
    }

    @Test("enrollment consumes a token once and refuses reuse, expiry and a second enrollment", arguments: StoreBackend.allCases)
    func enrollment(_ backend: StoreBackend) async throws {
        guard let store = try await TestStores.make(backend) else { return }
        defer { Task { await store.close() } }
        try await store.createEnrollmentToken(EnrollmentTokenRecord(
            tokenHash: Digests.sha256Hex("fleet"), maxUses: 2, tags: ["lobby", "eu"], expiresAt: 10_000,
            createdAt: 0, createdBy: "operator:test"))
        func enroll(_ hw: String, token: String = "fleet", now: Int64 = 100) async throws -> DeviceRecord {
            try await store.enroll(tokenHash: Digests.sha256Hex(token),
                                   device: NewDeviceRecord(deviceID: "d-\(hw)", hardwareID: hw, name: "",
                                                           credentialHash: "h"), now: now)
        }
        let first = try await enroll("a")
        #expect(first.tags == ["lobby", "eu"])
        // The same hardware again: refused, and no use consumed.
        await #expect(throws: CoordinatorError.self) { _ = try await enroll("a") }
        _ = try await enroll("b")
        let usedUp = await #expect(throws: CoordinatorError.self) { _ = try await enroll("c") }
        #expect(usedUp?.kind == .unauthenticated)
        let wrong = await #expect(throws: CoordinatorError.self) { _ = try await enroll("d", token: "other") }
        #expect(wrong?.kind == .unauthenticated)
        try await store.createEnrollmentToken(EnrollmentTokenRecord(
            tokenHash: Digests.sha256Hex("old"), maxUses: 5, tags: [], expiresAt: 50, createdAt: 0, createdBy: "t"))
        let expired = await #expect(throws: CoordinatorError.self) { _ = try await enroll("e", token: "old", now: 50) }
        #expect(expired?.kind == .unauthenticated)
        let stored = try await store.device(id: "d-a")
        #expect(stored?.hardwareID == "a")
        #expect(try await store.device(id: "d-c") == nil)
    }

    @Test("heartbeat, tags, listing by tag and revocation", arguments: StoreBackend.allCases)
    func devices(_ backend: StoreBackend) async throws {
        guard let store = try await TestStores.make(backend) else { return }
        defer { Task { await store.close() } }
        _ = try await enrollDevice(store, id: "d1", tags: ["lobby", "eu"])
        _ = try await enrollDevice(store, id: "d2", tags: ["lobby"])
        _ = try await enrollDevice(store, id: "d3", tags: ["eu_west"])
        var status = FleetDeviceStatus()
        status.queueDepth = 7
        status.agentVersion = "1.2.3"
        try await store.recordHeartbeat(deviceID: "d1", status: status, now: 9_999)
        let d1 = try #require(try await store.device(id: "d1"))
        #expect(d1.lastSeen == 9_999)
        #expect(d1.lastStatus?.queueDepth == 7)
        #expect(try await store.listDevices(tags: ["lobby"], limit: 10, afterID: "").map(\.deviceID) == ["d1", "d2"])
        #expect(try await store.listDevices(tags: ["eu"], limit: 10, afterID: "").map(\.deviceID) == ["d1"])
        #expect(try await store.listDevices(tags: [], limit: 2, afterID: "d1").map(\.deviceID) == ["d2", "d3"])
        _ = try await store.setTags(deviceID: "d2", tags: ["eu"])
        #expect(try await store.listDevices(tags: ["eu"], limit: 10, afterID: "").map(\.deviceID) == ["d1", "d2"])
        let revoked = try await store.revoke(deviceID: "d2", reason: "stolen", now: 77)
        #expect(revoked.isRevoked && revoked.revokeReason == "stolen" && revoked.revokedAt == 77)
        await #expect(throws: CoordinatorError.self) { _ = try await store.revoke(deviceID: "nope", reason: "", now: 1) }
    }

    @Test("ingest is idempotent: retries and overlaps never duplicate, out-of-order is fine", arguments: StoreBackend.allCases)
    func ingest(_ backend: StoreBackend) async throws {
        guard let store = try await TestStores.make(backend) else { return }
        defer { Task { await store.close() } }
        _ = try await enrollDevice(store, id: "d1")
        _ = try await enrollDevice(store, id: "d2")
        let first = try await store.ingest(deviceID: "d1", results: [5, 3, 9].map { result($0) }, receivedAt: 10)
        #expect(first == IngestOutcome(ackedSeqs: [5, 3, 9], inserted: 3))
        let retry = try await store.ingest(deviceID: "d1", results: [3, 9, 4, 4].map { result($0) }, receivedAt: 11)
        #expect(retry == IngestOutcome(ackedSeqs: [3, 9, 4], inserted: 1))
        // Same seq from another device is a different result.
        let other = try await store.ingest(deviceID: "d2", results: [result(3, at: 7_000, model: "m2")], receivedAt: 12)
        #expect(other.inserted == 1)
        // A large batch crosses the chunk size.
        let big = try await store.ingest(deviceID: "d2", results: (100..<1_300).map { result(UInt64($0), at: 8_000) }, receivedAt: 13)
        #expect(big.inserted == 1_200 && big.ackedSeqs.count == 1_200)
        let d1 = try await store.queryResults(ResultQuery(deviceID: "d1"))
        #expect(d1.map(\.result.seq) == [3, 4, 5, 9])
        #expect(d1.first?.result.text == "caption 3" && d1.first?.receivedAt == 10)
        #expect(try await store.queryResults(ResultQuery(modelDigest: "m2")).map(\.deviceID) == ["d2"])
        #expect(try await store.queryResults(ResultQuery(from: 6_000, until: 8_000)).count == 1)
        #expect(try await store.queryResults(ResultQuery(tag: "lobby", limit: 5_000)).count == 1_205)
        // A seq above Int64.max survives the round trip.
        _ = try await store.ingest(deviceID: "d1", results: [result(UInt64.max, at: 1)], receivedAt: 14)
        #expect(try await store.queryResults(ResultQuery(deviceID: "d1", until: 2)).first?.result.seq == UInt64.max)
    }

    @Test("two store instances ingesting the same batches at once store each result once", arguments: StoreBackend.allCases)
    func concurrentIngest(_ backend: StoreBackend) async throws {
        guard let location = try await TestStores.freshLocation(backend) else { return }
        let store = try TestStores.open(backend, location)
        // A second instance with its own connections (as a second coordinator process has).
        let second = try TestStores.open(backend, location)
        try await store.migrate()
        try await second.migrate()
        _ = try await enrollDevice(store, id: "d1")
        let batches = (0..<20).map { batch in (0..<50).map { result(UInt64(batch * 25 + $0)) } }
        let inserted = try await withThrowingTaskGroup(of: Int.self) { group in
            for batch in batches {
                group.addTask { try await store.ingest(deviceID: "d1", results: batch, receivedAt: 1).inserted }
                group.addTask { try await second.ingest(deviceID: "d1", results: batch, receivedAt: 2).inserted }
            }
            return try await group.reduce(0, +)
        }
        let distinct = Set(batches.flatMap { $0.map(\.seq) }).count
        #expect(inserted == distinct)
        #expect(try await store.queryResults(ResultQuery(deviceID: "d1", limit: 10_000)).count == distinct)
        await second.close()
        await store.close()
    }

    @Test("audit log keeps entries newest first", arguments: StoreBackend.allCases)
    func audit(_ backend: StoreBackend) async throws {
        guard let store = try await TestStores.make(backend) else { return }
        defer { Task { await store.close() } }
        for index in 0..<3 {
            try await store.appendAudit(AuditRecord(at: Int64(index), actor: "operator:ops", action: "revoke",
                                                    subject: "device d\(index)", detail: "why"))
        }
        let log = try await store.auditLog(limit: 2)
        #expect(log.map(\.subject) == ["device d2", "device d1"])
        #expect(log.first?.actor == "operator:ops")
    }

    @Test("models and blobs are stored once by digest", arguments: StoreBackend.allCases)
    func models(_ backend: StoreBackend) async throws {
        guard let store = try await TestStores.make(backend) else { return }
        defer { Task { await store.close() } }
        try await store.recordBlob(sha256: "ab", size: 10, now: 1)
        try await store.recordBlob(sha256: "ab", size: 10, now: 2)
        #expect(try await store.blobSize(sha256: "ab") == 10)
        #expect(try await store.blobSize(sha256: "cd") == nil)
        var signed = FleetSignedManifest()
        signed.manifest = Data([1, 2, 3, 0, 255])
        signed.signature = Data(repeating: 9, count: 64)
        signed.keyID = "k"
        let model = ModelRecord(digest: "m1", name: "minicpm", version: "2.6", signedManifest: signed, registeredAt: 5)
        try await store.putModel(model)
        try await store.putModel(model)
        #expect(try await store.model(digest: "m1") == model)
        #expect(try await store.listModels() == [model])
    }
}
