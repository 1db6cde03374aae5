import Crypto
import FleetProtocol
import Foundation
import Testing
@testable import Agent

/// A tensor delta cut part-way (link cut with the attempts exhausted, as a process that gives up
/// or dies would leave it) resumes from its partial output and progress record: the changed
/// tensors travel once in total, and the result is byte-identical to the published file.
/// Reference sizes and digests come from gguf-py (`tools/testdata/models.py`).
@Suite("Model delta resume")
struct ModelDeltaResumeTests {
    static func settings(attempts: Int) -> ModelDownloader.Settings {
        var settings = ModelDownloader.Settings()
        settings.maxAttempts = attempts
        settings.backoffBaseSeconds = 0.01
        settings.backoffMaxSeconds = 0.02
        settings.minFreeBytes = 0
        return settings
    }

    static func assembler(_ source: any ModelBlobSource, staging: String, attempts: Int = 3) -> GGUFDeltaAssembler {
        GGUFDeltaAssembler(source: source, stagingDirectory: staging, initialHeaderBytes: 4096, settings: settings(attempts: attempts))
    }

    static let local = [ModelUpdateFixtures.demoLLM, ModelUpdateFixtures.demoMMProj]

    /// Bytes an uninterrupted delta v1 → v2 fetches (header prefixes + the changed layer).
    /// `initialHeaderBytes`: 4096 as `assembler` uses, or the default (64 KiB) as the updater.
    static func uninterruptedFetch(blobs: String, initialHeaderBytes: Int64 = 4096) async throws -> Int64 {
        let file = try ModelUpdateFixtures.manifestFile(role: "llm", key: "llm-v2")
        let source = RecordingBlobSource(DirectoryBlobSource(directory: blobs))
        let outcome = try await GGUFDeltaAssembler(source: source, stagingDirectory: try ModelUpdateFixtures.temporaryDirectory("fresh"),
                                                   initialHeaderBytes: initialHeaderBytes, settings: settings(attempts: 3))
            .assemble(file, reusing: local)
        #expect(source.delivered == outcome.fetchedBytes)
        return outcome.fetchedBytes
    }

    /// The changed tensors of v2 (gguf-py offsets are absolute file offsets).
    static func changedTensors() throws -> [ModelUpdateFixtures.Described.Tensor] {
        let digests = try ModelUpdateFixtures.digests()
        let v1 = try #require(digests["demo-llm"])
        let v2 = try #require(digests["llm-v2"])
        return zip(v1.tensors, v2.tensors).filter { $0.sha256 != $1.sha256 }.map(\.1)
    }

    /// Runs a delta whose link dies after `cutAfter` bytes and which gives up at once.
    static func cutRun(blobs: String, staging: String, cutAfter: Int64) async throws -> RecordingBlobSource {
        let file = try ModelUpdateFixtures.manifestFile(role: "llm", key: "llm-v2")
        let cut = RecordingBlobSource(DirectoryBlobSource(directory: blobs, pieceBytes: 8 << 10), cutAfterBytes: cutAfter)
        do {
            _ = try await assembler(cut, staging: staging, attempts: 1).assemble(file, reusing: local)
            Issue.record("the cut delta finished")
        } catch let error as AgentError {
            #expect(error.kind == .io, "a cut link is transient (resume later), not a refused model: \(error)")
        }
        return cut
    }

    @Test func aCutDeltaResumesWithoutFetchingTwice() async throws {
        let blobs = try ModelUpdateFixtures.blobDirectory(["llm-v2"])
        let total = try await Self.uninterruptedFetch(blobs: blobs)
        let changedBytes = Int64(try Self.changedTensors().reduce(0) { $0 + $1.size })
        #expect(changedBytes == 296_960 && total > changedBytes)

        // 1. Cut half-way through the changed layer (after the header).
        let staging = try ModelUpdateFixtures.temporaryDirectory("staging")
        let file = try ModelUpdateFixtures.manifestFile(role: "llm", key: "llm-v2")
        let cut = try await Self.cutRun(blobs: blobs, staging: staging, cutAfter: total - changedBytes / 2)
        let progress = try #require(DeltaProgress.load(path: staging + "/\(file.sha256).delta.json", blob: file.sha256,
                                                       size: Int64(file.sizeBytes)))
        // A link cut makes everything that arrived durable before giving up.
        #expect(progress.durableBytes == cut.delivered)
        #expect(!FileManager.default.fileExists(atPath: staging + "/" + file.sha256))

        // 2. A new assembler (as after a restart) fetches only the rest.
        let rest = RecordingBlobSource(DirectoryBlobSource(directory: blobs, pieceBytes: 8 << 10))
        let outcome = try await Self.assembler(rest, staging: staging).assemble(file, reusing: Self.local)
        #expect(FileManager.default.contents(atPath: outcome.path) == FileManager.default.contents(atPath: ModelUpdateFixtures.path(of: "llm-v2")))
        // Tolerance 0: a link cut loses nothing that arrived (a SIGKILL loses at most what came
        // after the last checkpoint, <= 64 KiB past a tensor end, see scripts/checks/model-updates.sh).
        #expect(cut.delivered + rest.delivered == total, "run 1 \(cut.delivered) + run 2 \(rest.delivered) bytes vs \(total) uninterrupted")
        #expect(rest.delivered == outcome.fetchedBytes)
        #expect(outcome.resumedBytes == cut.delivered - progress.headerBytes && outcome.resumedBytes > 0)
        #expect(rest.ranges.allSatisfy { range in !progress.durable.contains { $0.overlaps(range) } }, "no durable byte asked for again")
        #expect(!FileManager.default.fileExists(atPath: staging + "/\(file.sha256).delta.json"))
    }

    @Test func aResumedTensorThatNoLongerMatchesIsFetchedAgain() async throws {
        let blobs = try ModelUpdateFixtures.blobDirectory(["llm-v2"])
        let total = try await Self.uninterruptedFetch(blobs: blobs)
        let changed = try Self.changedTensors()
        let changedBytes = Int64(changed.reduce(0) { $0 + $1.size })
        let staging = try ModelUpdateFixtures.temporaryDirectory("staging")
        let file = try ModelUpdateFixtures.manifestFile(role: "llm", key: "llm-v2")
        let cut = try await Self.cutRun(blobs: blobs, staging: staging, cutAfter: total - changedBytes / 2)

        // Damage one byte of a tensor the first run made durable (a bad sector, a bug).
        let victim = try #require(changed.first { $0.name == "blk.2.attn_q.weight" })
        let progress = try #require(DeltaProgress.load(path: staging + "/\(file.sha256).delta.json", blob: file.sha256,
                                                       size: Int64(file.sizeBytes)))
        #expect(progress.covers(Int64(victim.offset) ..< Int64(victim.offset + victim.size)), "the victim arrived in run 1")
        let handle = try #require(FileHandle(forUpdatingAtPath: staging + "/\(file.sha256).delta"))
        try handle.seek(toOffset: UInt64(victim.offset + 100))
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: UInt64(victim.offset + 100))
        try handle.write(contentsOf: Data([byte ^ 0xFF]))
        try handle.close()

        let rest = RecordingBlobSource(DirectoryBlobSource(directory: blobs, pieceBytes: 8 << 10))
        let outcome = try await Self.assembler(rest, staging: staging).assemble(file, reusing: Self.local)
        #expect(FileManager.default.contents(atPath: outcome.path) == FileManager.default.contents(atPath: ModelUpdateFixtures.path(of: "llm-v2")))
        #expect(cut.delivered + rest.delivered == total + Int64(victim.size), "exactly the damaged tensor travels twice")
    }

    /// In the updater, a delta cut by the link throws `.io` (retry later) instead of falling back
    /// to the whole file, and the next apply resumes it.
    @Test func theUpdaterResumesACutDeltaInsteadOfFetchingTheWholeFile() async throws {
        let root = try ModelUpdateFixtures.temporaryDirectory("updater")
        let blobs = try ModelUpdateFixtures.blobDirectory(["demo-llm", "demo-mmproj", "llm-v2"])
        let total = try await Self.uninterruptedFetch(blobs: blobs, initialHeaderBytes: 64 << 10)
        let changedBytes = Int64(try Self.changedTensors().reduce(0) { $0 + $1.size })
        let reports = ModelUpdaterTests.Reports()
        func updater(_ source: any ModelBlobSource, attempts: Int) throws -> ModelUpdater {
            let store = try ModelStore(root: root)
            let downloader = ModelDownloader(source: source, stagingDirectory: store.stagingDirectory, settings: Self.settings(attempts: attempts))
            return ModelUpdater(store: store, verifier: ManifestVerifier(trustedKeys: [ModelUpdaterTests.key.publicKey]),
                                downloader: downloader, canary: nil) { state, reason in reports.states.withLock { $0.append((state, reason)) } }
        }
        try await updater(DirectoryBlobSource(directory: blobs), attempts: 3).apply(try ModelUpdaterTests.assignment(llm: "demo-llm"))
        let v2 = try ModelUpdaterTests.assignment(llm: "llm-v2")
        let llm = try ModelUpdateFixtures.manifestFile(role: "llm", key: "llm-v2")

        let cut = RecordingBlobSource(DirectoryBlobSource(directory: blobs, pieceBytes: 8 << 10), cutAfterBytes: total - changedBytes / 2)
        do {
            try await updater(cut, attempts: 1).apply(v2)
            Issue.record("the cut update finished")
        } catch let error as AgentError {
            #expect(error.kind == .io, "\(error)")
        }
        let staging = try ModelStore(root: root).stagingDirectory
        #expect(!FileManager.default.fileExists(atPath: staging + "/\(llm.sha256).part"), "no whole-file download was started")
        #expect(cut.delivered == total - changedBytes / 2)
        // Not a refused model: the coordinator hears DOWNLOADING with the reason, never FAILED.
        #expect(!reports.names.contains(.failed))
        #expect(reports.all.last?.0 == .downloading && reports.all.last?.1.contains("will resume") == true)

        let rest = RecordingBlobSource(DirectoryBlobSource(directory: blobs, pieceBytes: 8 << 10))
        let outcome = try await updater(rest, attempts: 3).apply(v2)
        #expect(cut.delivered + rest.delivered == total)
        #expect(outcome.fetchedBytes == rest.delivered && outcome.resumedBytes > 0)
        let active = try #require(try ModelStore(root: root).activeModel())
        #expect(active.record.modelDigest == v2.modelDigest)
        #expect(FileManager.default.contents(atPath: active.llmPath) == FileManager.default.contents(atPath: ModelUpdateFixtures.path(of: "llm-v2")))
        #expect((try FileManager.default.contentsOfDirectory(atPath: staging)).isEmpty, "staging pruned after the install")
    }

    @Test func progressRangesMergeSplitAndReportGaps() {
        var progress = DeltaProgress(blob: "b", size: 100)
        progress.insert(10 ..< 20)
        progress.insert(30 ..< 40)
        progress.insert(20 ..< 30)
        #expect(progress.durable == [10 ..< 40])
        progress.insert(50 ..< 60)
        #expect(progress.missing(in: 0 ..< 70) == [0 ..< 10, 40 ..< 50, 60 ..< 70])
        #expect(progress.covers(12 ..< 38) && !progress.covers(35 ..< 55))
        progress.remove(15 ..< 25)
        #expect(progress.durable == [10 ..< 15, 25 ..< 40, 50 ..< 60])
        #expect(progress.durableBytes == 5 + 15 + 10)
    }

    /// The record is two slots overwritten in place: the newest intact one wins; a torn write of
    /// the newest falls back to the previous save; the file never grows after the first save.
    @Test func progressRecordKeepsThePreviousSaveWhenTheNewestIsTorn() throws {
        let path = try ModelUpdateFixtures.temporaryDirectory("deltaprogress") + "/blob.delta.json"
        var progress = DeltaProgress(blob: "blob", size: 1000)
        try progress.save(path: path)
        progress.insert(0 ..< 100)
        try progress.save(path: path)
        progress.insert(100 ..< 300)
        try progress.save(path: path)
        #expect(DeltaProgress.load(path: path, blob: "blob", size: 1000)?.durable == [0 ..< 300])
        #expect(DeltaProgress.load(path: path, blob: "other", size: 1000) == nil)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.size] as? Int) == 2 * DeltaProgress.slotBytes)

        var data = try #require(FileManager.default.contents(atPath: path))
        let newest = try #require(data.range(of: Data("[[0,300]]".utf8)))
        data.replaceSubrange(newest, with: Data("[[0,900]]".utf8))
        try data.write(to: URL(fileURLWithPath: path))
        #expect(DeltaProgress.load(path: path, blob: "blob", size: 1000)?.durable == [0 ..< 100])
    }
}
