@testable import Coordinator
import FleetProtocol
import Foundation
import Testing

/// The heartbeat fast path: one statement stores many devices' heartbeats with the credential
/// and revocation checks inside it; callers are answered after their statement; revocation by
/// another coordinator process on the same database is seen on the next call. Both engines.
@Suite("Heartbeat path")
struct HeartbeatPathTests {
    let helpers = StoreTests()

    func status(_ depth: UInt32) -> FleetDeviceStatus {
        var status = FleetDeviceStatus()
        status.queueDepth = depth
        status.agentVersion = "test"
        return status
    }

    /// A core over `store` with fresh operator credentials and blob folder.
    func core(_ store: SQLCoordinatorStore, writers: Int = 2) throws -> CoordinatorCore {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-hb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        var configuration = CoordinatorConfiguration()
        configuration.stateDirectory = state.path
        configuration.heartbeatWriters = writers
        return try CoordinatorCore(store: store, configuration: configuration,
                                   operators: try OperatorCredentials.loadOrCreate(stateDirectory: state),
                                   blobs: try BlobStore(directory: state.appendingPathComponent("blobs")))
    }

    /// Enrolls `id` with a real credential; returns the bearer text.
    func enroll(_ store: SQLCoordinatorStore, _ id: String) async throws -> String {
        let credential = DeviceCredential.issue(for: id)
        let token = "token-\(id)"
        try await store.createEnrollmentToken(EnrollmentTokenRecord(
            tokenHash: Digests.sha256Hex(token), maxUses: 1, tags: ["t"], expiresAt: Int64.max, createdAt: 0,
            createdBy: "operator:test"))
        _ = try await store.enroll(tokenHash: Digests.sha256Hex(token),
                                   device: NewDeviceRecord(deviceID: id, hardwareID: "hw-\(id)", name: id,
                                                           credentialHash: credential.hash), now: 1)
        return credential.text
    }

    @Test("one statement stores only devices whose credential matches and that are not revoked", arguments: StoreBackend.allCases)
    func batchedWrite(_ backend: StoreBackend) async throws {
        guard let store = try await TestStores.make(backend) else { return }
        defer { Task { await store.close() } }
        for id in ["d1", "d2", "d3", "d4"] { _ = try await helpers.enrollDevice(store, id: id) }
        _ = try await store.revoke(deviceID: "d3", reason: "stolen", now: 5)
        _ = try await store.database.execute("UPDATE devices SET desired_model = 'm1', desired_rollout = 'r1' WHERE device_id = 'd1'", [])
        let hash = { (id: String) in Digests.sha256Hex("secret-\(id)") }
        let answers = try await store.recordHeartbeats([
            HeartbeatWrite(deviceID: "d1", credentialHash: hash("d1"), status: status(1), now: 500),
            HeartbeatWrite(deviceID: "d2", credentialHash: hash("d1"), status: status(2), now: 500),
            HeartbeatWrite(deviceID: "d3", credentialHash: hash("d3"), status: status(3), now: 500),
            HeartbeatWrite(deviceID: "ghost", credentialHash: hash("ghost"), status: status(4), now: 500),
            HeartbeatWrite(deviceID: "d4", credentialHash: hash("d4"), status: status(5), now: 600),
        ])
        #expect(answers == [DeviceAssignment(modelDigest: "m1", rolloutID: "r1"), nil, nil, nil,
                            DeviceAssignment(modelDigest: "", rolloutID: "")])
        let d1 = try #require(try await store.device(id: "d1"))
        #expect(d1.lastSeen == 500 && d1.lastStatus?.queueDepth == 1)
        let d4 = try #require(try await store.device(id: "d4"))
        #expect(d4.lastSeen == 600 && d4.lastStatus?.queueDepth == 5)
        for id in ["d2", "d3"] {
            let refused = try #require(try await store.device(id: id))
            #expect(refused.lastSeen == 0 && refused.lastStatus == nil)
        }
        #expect(try await store.device(id: "ghost") == nil)
        let access = try #require(try await store.deviceAccess(id: "d3"))
        #expect(access.isRevoked && access.revokeReason == "stolen" && access.credentialHash == hash("d3"))
    }

    @Test("concurrent heartbeats share statements; each caller's status is stored before it is answered", arguments: StoreBackend.allCases)
    func coalescing(_ backend: StoreBackend) async throws {
        guard let location = try await TestStores.freshLocation(backend) else { return }
        let store = try TestStores.open(backend, location)
        try await store.migrate()
        defer { Task { await store.close() } }
        let core = try core(store, writers: 1)
        var credentials: [String: String] = [:]
        for index in 0..<40 {
            let id = String(format: "dev%02d", index)
            credentials[id] = try await enroll(store, id)
        }
        // Hold the device rows so the first statement waits and the other heartbeats pile up behind it.
        let blocker = await TestStores.holdDeviceRows(store)
        // Three heartbeats per device, two of them concurrent for the same device.
        let calls = credentials.sorted(by: { $0.key < $1.key }).enumerated().flatMap { index, entry in
            (0..<3).map { round in (id: entry.key, credential: entry.value, depth: UInt32(index * 10 + round)) }
        }
        let answered = try await withThrowingTaskGroup(of: (String, UInt32, FleetDesiredState).self) { group in
            for call in calls {
                group.addTask {
                    (call.id, call.depth, try await core.heartbeat(token: call.credential, claimed: call.id, status: status(call.depth)))
                }
            }
            return try await group.reduce(into: [(String, UInt32, FleetDesiredState)]()) { $0.append($1) }
        }
        try await blocker.value
        #expect(answered.count == calls.count)
        #expect(answered.allSatisfy { $0.2.pollIntervalSeconds >= 54 && $0.2.pollIntervalSeconds <= 66 && !$0.2.hasModel })
        let statements = core.metrics.value("edgevlm_heartbeat_statements_total")
        // 120 heartbeats of 40 devices: a device goes at most once per statement, so at least 3.
        #expect(statements >= 3 && statements < Int64(calls.count) / 4, "statements: \(statements)")
        for (id, _) in credentials {
            let device = try #require(try await store.device(id: id))
            let sent = Set(calls.filter { $0.id == id }.map(\.depth))
            #expect(device.lastSeen > 0 && sent.contains(device.lastStatus?.queueDepth ?? 999))
        }
    }

    @Test("refusals: wrong secret, another device's id, revocation by a second replica", arguments: StoreBackend.allCases)
    func refusals(_ backend: StoreBackend) async throws {
        guard let location = try await TestStores.freshLocation(backend) else { return }
        let replicaA = try TestStores.open(backend, location)
        try await replicaA.migrate()
        let replicaB = try TestStores.open(backend, location)
        defer { Task { await replicaA.close(); await replicaB.close() } }
        let core = try core(replicaA)
        let first = try await enroll(replicaA, "first")
        _ = try await enroll(replicaA, "second")
        _ = try await core.heartbeat(token: first, claimed: "", status: status(1))
        let wrong = await #expect(throws: CoordinatorError.self) {
            _ = try await core.heartbeat(token: "first.not-the-secret", claimed: "", status: status(2))
        }
        #expect(wrong?.kind == .unauthenticated)
        let impersonation = await #expect(throws: CoordinatorError.self) {
            _ = try await core.heartbeat(token: first, claimed: "second", status: status(3))
        }
        #expect(impersonation?.kind == .permissionDenied)
        // A wrong secret claiming another id is still "unauthenticated" (who it is comes first).
        let both = await #expect(throws: CoordinatorError.self) {
            _ = try await core.heartbeat(token: "first.not-the-secret", claimed: "second", status: status(3))
        }
        #expect(both?.kind == .unauthenticated)
        let stored = try #require(try await replicaA.device(id: "first"))
        #expect(stored.lastStatus?.queueDepth == 1)
        #expect(try await replicaA.device(id: "second")?.lastSeen == 0)
        // The other replica revokes; this one refuses the very next heartbeat and stores nothing.
        _ = try await replicaB.revoke(deviceID: "first", reason: "lost", now: 9)
        let revoked = await #expect(throws: CoordinatorError.self) {
            _ = try await core.heartbeat(token: first, claimed: "first", status: status(4))
        }
        #expect(revoked?.kind == .unauthenticated && revoked?.message.contains("revoked: lost") == true)
        #expect(try await replicaA.device(id: "first")?.lastStatus?.queueDepth == 1)
    }

    @Test("the desired model comes with the heartbeat; an unknown digest gives none", arguments: StoreBackend.allCases)
    func desiredModel(_ backend: StoreBackend) async throws {
        guard let store = try await TestStores.make(backend) else { return }
        defer { Task { await store.close() } }
        let core = try core(store)
        let credential = try await enroll(store, "dev")
        var manifest = FleetModelManifest()
        var file = FleetManifestFile()
        file.sha256 = String(repeating: "ab", count: 32)
        manifest.files = [file]
        var signed = FleetSignedManifest()
        signed.manifest = try manifest.serializedData()
        signed.keyID = "k"
        try await store.putModel(ModelRecord(digest: "m1", name: "m", version: "1", signedManifest: signed, registeredAt: 1))
        _ = try await store.database.execute("UPDATE devices SET desired_model = 'm1', desired_rollout = 'r1'", [])
        for _ in 0..<2 {  // the second answer comes from the model cache
            let desired = try await core.heartbeat(token: credential, claimed: "dev", status: status(1))
            #expect(desired.model.modelDigest == "m1" && desired.model.rolloutID == "r1" && desired.model.signedManifest == signed)
            #expect(desired.model.artifactPaths[file.sha256] == "/v1/blobs/\(file.sha256)")
        }
        _ = try await store.database.execute("UPDATE devices SET desired_model = 'missing'", [])
        #expect(!(try await core.heartbeat(token: credential, claimed: "dev", status: status(1)).hasModel))
    }

    @Test("a failing statement fails every heartbeat in it")
    func failure() async throws {
        guard let store = try await TestStores.make(.sqlite) else { return }
        let core = try core(store)
        let credential = try await enroll(store, "dev")
        await store.close()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let error = await #expect(throws: CoordinatorError.self) {
                        _ = try await core.heartbeat(token: credential, claimed: "", status: status(1))
                    }
                    #expect(error?.kind == .database)
                }
            }
        }
    }
}
