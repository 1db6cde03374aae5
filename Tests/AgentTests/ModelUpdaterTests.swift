import Crypto
import FleetProtocol
import Foundation
import Synchronization
import Testing
@testable import Agent

/// The whole device-side update on the demo model: full install, delta update with the
/// vision tower hard-linked, canary on the real runtime engine, refusals that never activate.
@Suite("Model updater")
struct ModelUpdaterTests {
    final class Reports: Sendable {
        let states = Mutex<[(FleetRolloutDeviceState, String)]>([])
        var all: [(FleetRolloutDeviceState, String)] { states.withLock { $0 } }
        var names: [FleetRolloutDeviceState] { all.map(\.0) }
    }

    // A fixed test key (a stored static of a non-Sendable type is refused).
    static var key: Curve25519.Signing.PrivateKey { try! Curve25519.Signing.PrivateKey(rawRepresentation: Data(repeating: 7, count: 32)) }

    static func assignment(llm: String, signer: Curve25519.Signing.PrivateKey = key) throws -> FleetModelAssignment {
        var assignment = FleetModelAssignment()
        assignment.signedManifest = try ModelUpdateFixtures.sign(try ModelUpdateFixtures.manifest(llm: llm), with: signer)
        assignment.modelDigest = ContentDigest.sha256Hex(assignment.signedManifest.manifest)
        assignment.rolloutID = "r1"
        return assignment
    }

    static func canary(expect: [String] = []) -> CanaryEvaluator {
        let set = CanarySet(maxSeconds: 120, maxRSSMiB: 0, maxFallbacks: 0,
                            cases: [.init(image: "Tests/RuntimeTests/Fixtures/vision-goldens/small.png",
                                          prompt: "Describe the image.", expect: expect)])
        return CanaryEvaluator(set: set, directory: ModelUpdateFixtures.root.path) { llm, mmproj in
            var model = AgentConfiguration.Model()
            model.llm = llm
            model.mmproj = mmproj
            model.threads = 1
            model.maxTokens = 8
            return try RuntimeCaptionEngine(configuration: model)
        }
    }

    static func updater(_ root: String, blobs: String, canary: CanaryEvaluator? = nil, reports: Reports,
                        source: (any ModelBlobSource)? = nil) throws -> ModelUpdater {
        let store = try ModelStore(root: root)
        var settings = ModelDownloader.Settings()
        settings.minFreeBytes = 0
        settings.backoffBaseSeconds = 0.01
        let downloader = ModelDownloader(source: source ?? DirectoryBlobSource(directory: blobs),
                                         stagingDirectory: store.stagingDirectory, settings: settings)
        return ModelUpdater(store: store, verifier: ManifestVerifier(trustedKeys: [key.publicKey]), downloader: downloader,
                            canary: canary) { state, reason in reports.states.withLock { $0.append((state, reason)) } }
    }

    @Test func fullThenDeltaUpdateThenRollback() async throws {
        let root = try ModelUpdateFixtures.temporaryDirectory("updater")
        let blobs = try ModelUpdateFixtures.blobDirectory(["demo-llm", "demo-mmproj", "llm-v2"])
        let reports = Reports()
        let first = try await Self.updater(root, blobs: blobs, canary: Self.canary(), reports: reports).apply(try Self.assignment(llm: "demo-llm"))
        let full = Int64(try #require(ModelUpdateFixtures.digests()["demo-llm"]).size + ModelUpdateFixtures.digests()["demo-mmproj"]!.size)
        #expect(first.fetchedBytes == full && first.reusedBytes == 0)
        #expect(first.canary?.passed == true)
        #expect(reports.names == [.downloading, .verifying, .evaluating, .active])

        let counting = RecordingBlobSource(DirectoryBlobSource(directory: blobs))
        let second = try await Self.updater(root, blobs: blobs, canary: Self.canary(), reports: reports, source: counting)
            .apply(try Self.assignment(llm: "llm-v2"))
        #expect(second.slot != first.slot)
        #expect(counting.delivered == second.fetchedBytes)
        let changed = try ModelUpdateFixtures.digests()["llm-v2"]!.tensors.filter { $0.name.hasPrefix("blk.2.") }.reduce(0) { $0 + $1.size }
        #expect(second.fetchedBytes <= Int64(changed + 64 << 10), "only the header prefix and the changed layer travel")
        #expect(second.fetchedBytes + second.reusedBytes >= full)
        let store = try ModelStore(root: root)
        let active = try #require(store.activeModel())
        #expect(active.record.modelDigest == (try Self.assignment(llm: "llm-v2")).modelDigest)
        #expect(FileManager.default.contents(atPath: active.llmPath) == FileManager.default.contents(atPath: ModelUpdateFixtures.path(of: "llm-v2")))
        #expect(active.record.evaluation.hasPrefix("passed"))

        // Re-assigning the previous model switches back without fetching anything.
        let again = RecordingBlobSource(DirectoryBlobSource(directory: blobs))
        let back = try await Self.updater(root, blobs: blobs, reports: reports, source: again).apply(try Self.assignment(llm: "demo-llm"))
        #expect(again.ranges.isEmpty && back.slot == first.slot)
        #expect(try store.rollback() == second.slot)
    }

    @Test func refusedModelsNeverBecomeActive() async throws {
        let root = try ModelUpdateFixtures.temporaryDirectory("updater")
        let blobs = try ModelUpdateFixtures.blobDirectory(["demo-llm", "demo-mmproj", "llm-nan"])
        let reports = Reports()
        try await Self.updater(root, blobs: blobs, reports: reports).apply(try Self.assignment(llm: "demo-llm"))
        let good = try #require(try ModelStore(root: root).activeModel()?.record.modelDigest)

        // Signed by a key the device does not trust.
        let stranger = try Self.assignment(llm: "llm-nan", signer: Curve25519.Signing.PrivateKey())
        await #expect(throws: AgentError.self) { try await Self.updater(root, blobs: blobs, reports: reports).apply(stranger) }
        #expect(reports.all.last?.0 == .failed && reports.all.last?.1.contains("does not trust") == true)

        // Valid digests, weights that cannot answer: the canary stops it.
        await #expect(throws: AgentError.self) {
            try await Self.updater(root, blobs: blobs, canary: Self.canary(), reports: reports).apply(try Self.assignment(llm: "llm-nan"))
        }
        #expect(reports.all.last?.0 == .failed)
        #expect(reports.all.last?.1.contains("canary failed") == true)
        #expect(reports.all.last?.1.contains("degenerate") == true, "\(reports.all.last?.1 ?? "")")
        #expect(try ModelStore(root: root).activeModel()?.record.modelDigest == good)
    }
}
