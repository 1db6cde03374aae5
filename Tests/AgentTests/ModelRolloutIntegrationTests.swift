import Agent
import Crypto
import FleetProtocol
import Foundation
import GRPCCore
import Testing

/// A rollout from the real coordinator binary to the agent test host (separate processes,
/// loopback, TLS for gRPC, HTTP for blobs): the agent downloads the assigned model, verifies
/// and installs it, switches and restarts onto it, and the coordinator records ACTIVE.
@Suite("Model rollout with the real coordinator", .serialized)
struct ModelRolloutIntegrationTests {
    typealias H = SyncProcessHarness

    @Test func assignedModelIsDownloadedActivatedAndReported() async throws {
        let root = try H.temporaryDirectory("rollout")
        defer { try? FileManager.default.removeItem(at: root) }
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: Data(repeating: 9, count: 32))
        let publicKey = key.publicKey.rawRepresentation.base64EncodedString()
        let coordinator = H.Coordinator(state: root.appendingPathComponent("coord"))
        coordinator.extraArguments = ["--trust-model-key", publicKey]
        try coordinator.start()
        defer { coordinator.stop() }

        let manifest = try ModelUpdateFixtures.manifest(llm: "demo-llm")
        let signed = try ModelUpdateFixtures.sign(manifest, with: key)
        let token = try await coordinator.enrollmentToken()
        let model = try await coordinator.withOperator { client, metadata in
            for path in [ModelUpdateFixtures.demoLLM, ModelUpdateFixtures.demoMMProj] {
                let file = try #require(FileManager.default.contents(atPath: path))
                _ = try await client.uploadBlob(metadata: metadata, requestProducer: { writer in
                    var offset = 0
                    while offset < file.count {
                        var chunk = Edgevlm_Fleet_V1_BlobChunk()
                        chunk.data = file[offset..<min(offset + 65_536, file.count)]
                        try await writer.write(chunk)
                        offset += 65_536
                    }
                })
            }
            var register = Edgevlm_Fleet_V1_RegisterModelRequest()
            register.signedManifest = signed
            let model = try await client.registerModel(register, metadata: metadata)
            return model
        }
        let agent = try H.AgentProcess(state: root.appendingPathComponent("agent"), coordinator: coordinator, token: token, extraTOML: """
            [models]
            artifact_url = "http://127.0.0.1:\(coordinator.httpPort)"
            trusted_keys = ["\(publicKey)"]
            min_free_mib = 1
            """)
        try agent.start()
        defer { agent.stop() }
        // Rollouts assign the devices enrolled when they are created.
        #expect(try await H.eventually(20) { try await !coordinator.devices().isEmpty })
        let rollout = try await coordinator.withOperator { client, metadata in
            var create = Edgevlm_Fleet_V1_CreateRolloutRequest()
            create.modelDigest = model.modelDigest
            create.targetTags = ["sync-test"]
            var stage = FleetRolloutStage()
            stage.percent = 100
            stage.minDevices = 1
            create.stages = [stage]
            create.policy.maxFailures = 1
            return try await client.createRollout(create, metadata: metadata)
        }
        #expect(rollout.devicesAssigned == 1)
        let store = try ModelStore(stateDirectory: agent.state.path)
        // Enroll, heartbeat (assignment recorded), download, verify, switch, then exit to restart.
        let switched = await H.eventually(40) { store.activeModel()?.record.modelDigest == rollout.modelDigest && !agent.isRunning }
        #expect(switched, "log: \((try? String(contentsOf: agent.state.appendingPathComponent("agent.log"), encoding: .utf8)) ?? "")")
        let active = try #require(store.activeModel())
        #expect(FileManager.default.contents(atPath: active.llmPath) == FileManager.default.contents(atPath: ModelUpdateFixtures.demoLLM))

        // As systemd would: start again; the queued ACTIVE report reaches the coordinator.
        agent.stop()
        try agent.start()
        let reported = try await H.eventually(30) {
            let detail = try await coordinator.withOperator { client, metadata in
                var get = Edgevlm_Fleet_V1_GetRolloutRequest()
                get.rolloutID = rollout.rolloutID
                return try await client.getRollout(get, metadata: metadata)
            }
            return detail.devices.contains { $0.state == .active }
        }
        #expect(reported)
    }
}
