#if canImport(Glibc)
import Glibc
#endif
import Crypto
import FleetProtocol
import Foundation
import Testing
@testable import Agent

/// Manifest verification, resumable downloads and tensor deltas on the demo model and its
/// gguf-py-made variants (`tools/testdata/models.py`).
@Suite("Model downloads")
struct ModelDownloadTests {
    // MARK: verifier

    @Test func verifierAcceptsTheTrustedSignature() throws {
        let key = Curve25519.Signing.PrivateKey()
        let signed = try ModelUpdateFixtures.sign(try ModelUpdateFixtures.manifest(llm: "demo-llm"), with: key)
        let verifier = try ManifestVerifier(publicKeys: [key.publicKey.rawRepresentation.base64EncodedString()])
        let verified = try verifier.verify(signed, expectedDigest: ContentDigest.sha256Hex(signed.manifest))
        #expect(verified.manifest.files.count == 2)
        let hexVerifier = try ManifestVerifier(publicKeys: [key.publicKey.rawRepresentation.map { String(format: "%02x", $0) }.joined()])
        #expect(try hexVerifier.verify(signed).digest == verified.digest)
    }

    @Test func verifierRejectsUnsignedTamperedAndUntrusted() throws {
        let key = Curve25519.Signing.PrivateKey()
        let verifier = ManifestVerifier(trustedKeys: [key.publicKey])
        let good = try ModelUpdateFixtures.sign(try ModelUpdateFixtures.manifest(llm: "demo-llm"), with: key)

        func reason(_ signed: FleetSignedManifest, expected: String = "") -> String {
            do { _ = try verifier.verify(signed, expectedDigest: expected); return "" } catch let error as AgentError {
                return error.message
            } catch { return "\(error)" }
        }
        var unsigned = good
        unsigned.signature = Data()
        #expect(reason(unsigned).contains("not signed"))
        var tampered = good
        tampered.manifest[tampered.manifest.count - 1] ^= 1
        #expect(reason(tampered).contains("does not verify"))
        let stranger = try ModelUpdateFixtures.sign(try ModelUpdateFixtures.manifest(llm: "demo-llm"), with: Curve25519.Signing.PrivateKey())
        #expect(reason(stranger).contains("does not trust"))
        #expect(reason(good, expected: String(repeating: "0", count: 64)).contains("was assigned"))
        var oneFile = try ModelUpdateFixtures.manifest(llm: "demo-llm")
        oneFile.files.removeLast()
        #expect(reason(try ModelUpdateFixtures.sign(oneFile, with: key)).contains("exactly one llm and one mmproj"))
        #expect(throws: AgentError.self) { try ManifestVerifier(publicKeys: ["not-a-key"]) }
    }

    // MARK: downloader

    static func downloader(_ source: any ModelBlobSource, staging: String, attempts: Int = 3,
                           checkpoint: Int64 = 64 << 10, minFree: Int64 = 0) -> ModelDownloader {
        var settings = ModelDownloader.Settings()
        settings.maxAttempts = attempts
        settings.backoffBaseSeconds = 0.01
        settings.backoffMaxSeconds = 0.02
        settings.checkpointBytes = checkpoint
        settings.minFreeBytes = minFree
        return ModelDownloader(source: source, stagingDirectory: staging, settings: settings)
    }

    @Test func downloadVerifiesAndResumesAcrossRestarts() async throws {
        let file = try ModelUpdateFixtures.manifestFile(role: "mmproj", key: "demo-mmproj")
        let blobs = try ModelUpdateFixtures.blobDirectory(["demo-mmproj"])
        let staging = try ModelUpdateFixtures.temporaryDirectory("staging")
        let size = Int64(file.sizeBytes)

        // First run: the link dies at 60 % and the process gives up (a crash would leave the same files).
        let cut = RecordingBlobSource(DirectoryBlobSource(directory: blobs, pieceBytes: 16 << 10), cutAfterBytes: size * 6 / 10)
        await #expect(throws: AgentError.self) {
            try await Self.downloader(cut, staging: staging, attempts: 1).download(file)
        }
        let durable = Self.downloader(cut, staging: staging).stagedBytes(of: file)
        #expect(durable > 0 && durable <= size * 6 / 10)

        // Second run (a new downloader, as after a restart) asks only for the rest.
        let rest = RecordingBlobSource(DirectoryBlobSource(directory: blobs, pieceBytes: 16 << 10))
        let path = try await Self.downloader(rest, staging: staging).download(file)
        #expect(rest.ranges.first?.lowerBound == durable)
        #expect(rest.delivered == size - durable)
        #expect(FileManager.default.contents(atPath: path) == FileManager.default.contents(atPath: ModelUpdateFixtures.demoMMProj))
        #expect(!FileManager.default.fileExists(atPath: path + ".part"))
    }

    @Test func transientCutsAreRetriedWithinOneRun() async throws {
        let file = try ModelUpdateFixtures.manifestFile(role: "llm", key: "demo-llm")
        let blobs = try ModelUpdateFixtures.blobDirectory(["demo-llm"])
        let staging = try ModelUpdateFixtures.temporaryDirectory("staging")
        let source = RecordingBlobSource(DirectoryBlobSource(directory: blobs, pieceBytes: 8 << 10), cutAfterBytes: Int64(file.sizeBytes) - 100)
        let downloader = Self.downloader(source, staging: staging, attempts: 5)
        let task = Task { try await downloader.download(file) }
        // Heal the link only once the cut has happened (a fixed sleep raced a busy machine).
        let deadline = ContinuousClock.now + .seconds(60)
        while source.delivered < Int64(file.sizeBytes) - 100, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        source.heal()
        let path = try await task.value
        #expect(try ManifestVerifier.sha256(ofFile: path).digest == file.sha256)
        #expect(source.ranges.count >= 2, "the cut at 99 % was resumed by range")
        #expect(source.delivered == Int64(file.sizeBytes), "no byte was fetched twice")
    }

    @Test func permanentFailureStopsAtOnce() async throws {
        let file = try ModelUpdateFixtures.manifestFile(role: "llm", key: "demo-llm")
        let source = RecordingBlobSource(DirectoryBlobSource(directory: try ModelUpdateFixtures.temporaryDirectory("empty")))
        let downloader = Self.downloader(source, staging: try ModelUpdateFixtures.temporaryDirectory("staging"), attempts: 8)
        await #expect(throws: AgentError.self) { try await downloader.download(file) }
        #expect(source.ranges.count == 1)
    }

    @Test func wrongBytesAreDiscarded() async throws {
        var file = try ModelUpdateFixtures.manifestFile(role: "llm", key: "demo-llm")
        let blobs = try ModelUpdateFixtures.blobDirectory(["demo-llm"])
        // The server's blob differs from what the signed manifest says (same size).
        let staging = try ModelUpdateFixtures.temporaryDirectory("staging")
        file.sha256 = String(repeating: "ab", count: 32)
        try FileManager.default.copyItem(atPath: ModelUpdateFixtures.path(of: "llm-v2"), toPath: blobs + "/" + file.sha256)
        let downloader = Self.downloader(DirectoryBlobSource(directory: blobs), staging: staging)
        do {
            _ = try await downloader.download(file)
            Issue.record("a file with the wrong digest was accepted")
        } catch let error as AgentError {
            #expect(error.message.contains("SHA-256"))
        }
        #expect(downloader.stagedBytes(of: file) == 0)
        #expect(!FileManager.default.fileExists(atPath: downloader.stagedPath(of: file.sha256)))
    }

    @Test func tooLittleDiskIsRefusedBeforeFetching() throws {
        let manifest = try ModelUpdateFixtures.manifest(llm: "demo-llm")
        let staging = try ModelUpdateFixtures.temporaryDirectory("staging")
        let free = try #require(DurableFiles.freeBytes(at: staging))
        let source = RecordingBlobSource(DirectoryBlobSource(directory: staging))
        // Keep all but 1 MiB free for the queue: the 4.7 MB model does not fit.
        let downloader = Self.downloader(source, staging: staging, minFree: free - (1 << 20))
        do {
            try downloader.checkSpace(for: manifest.files)
            Issue.record("the download was not refused")
        } catch let error as AgentError {
            #expect(error.message.contains("not enough disk space"))
        }
        #expect(source.ranges.isEmpty)
        try Self.downloader(source, staging: staging, minFree: 0).checkSpace(for: manifest.files)
    }

    // MARK: delta

    @Test func deltaReusesUnchangedTensorsAndIsByteIdentical() async throws {
        let digests = try ModelUpdateFixtures.digests()
        let v1 = try #require(digests["demo-llm"])
        let v2 = try #require(digests["llm-v2"])
        let file = try ModelUpdateFixtures.manifestFile(role: "llm", key: "llm-v2")
        let blobs = try ModelUpdateFixtures.blobDirectory(["llm-v2"])
        let staging = try ModelUpdateFixtures.temporaryDirectory("staging")
        let source = RecordingBlobSource(DirectoryBlobSource(directory: blobs))
        let assembler = GGUFDeltaAssembler(source: source, stagingDirectory: staging, initialHeaderBytes: 4096)
        let outcome = try await assembler.assemble(file, reusing: [ModelUpdateFixtures.demoLLM, ModelUpdateFixtures.demoMMProj])

        #expect(FileManager.default.contents(atPath: outcome.path) == FileManager.default.contents(atPath: ModelUpdateFixtures.path(of: "llm-v2")))
        let changed = zip(v1.tensors, v2.tensors).filter { $0.sha256 != $1.sha256 }.map(\.1)
        #expect(outcome.fetchedTensors == changed.count && changed.count == 12)
        #expect(outcome.reusedTensors == v2.tensors.count - changed.count)
        #expect(outcome.reusedBytes == Int64(v2.tensors.filter { t in !changed.contains { $0.name == t.name } }.reduce(0) { $0 + $1.size }))
        // Fetched: the header prefixes plus the changed tensors (one run: they are adjacent).
        let changedBytes = Int64(changed.reduce(0) { $0 + $1.size })
        #expect(outcome.fetchedBytes >= changedBytes && outcome.fetchedBytes < changedBytes + 64 << 10)
        #expect(source.delivered == outcome.fetchedBytes)
    }

    @Test func deltaWithNothingLocalFetchesEverythingAndStillMatches() async throws {
        let file = try ModelUpdateFixtures.manifestFile(role: "llm", key: "llm-v2")
        let blobs = try ModelUpdateFixtures.blobDirectory(["llm-v2"])
        let staging = try ModelUpdateFixtures.temporaryDirectory("staging")
        let outcome = try await GGUFDeltaAssembler(source: DirectoryBlobSource(directory: blobs), stagingDirectory: staging)
            .assemble(file, reusing: [])
        #expect(outcome.reusedTensors == 0)
        #expect(try ManifestVerifier.sha256(ofFile: outcome.path).digest == file.sha256)
    }

    @Test func deltaRejectsATensorThatDoesNotMatchTheManifest() async throws {
        var file = try ModelUpdateFixtures.manifestFile(role: "llm", key: "llm-v2")
        let index = try #require(file.tensors.firstIndex { $0.name == "blk.2.ffn_up.weight" })
        file.tensors[index].sha256 = String(repeating: "0", count: 64)
        let blobs = try ModelUpdateFixtures.blobDirectory(["llm-v2"])
        let staging = try ModelUpdateFixtures.temporaryDirectory("staging")
        do {
            _ = try await GGUFDeltaAssembler(source: DirectoryBlobSource(directory: blobs), stagingDirectory: staging)
                .assemble(file, reusing: [ModelUpdateFixtures.demoLLM])
            Issue.record("a tensor with the wrong digest was accepted")
        } catch let error as AgentError {
            #expect(error.message.contains("blk.2.ffn_up.weight"))
        }
        #expect(!FileManager.default.fileExists(atPath: staging + "/" + file.sha256))
    }

    /// The part file reserves the blob's blocks when its download starts, its length still
    /// saying what arrived (st_blocks from the file system, not from our bookkeeping).
    @Test func aDownloadReservesItsBlocksUpFront() throws {
        let directory = try ModelUpdateFixtures.temporaryDirectory("reserve")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/blob.part"
        let size: Int64 = 8 << 20
        let writer = try PartWriter(path: path, statePath: directory + "/blob.part.json",
                                    state: ModelDownloader.PartState(blob: "blob", size: size, durableBytes: 0), checkpointBytes: 1 << 20)
        try writer.append(Data(repeating: 7, count: 4096))
        writer.close()
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.size] as? Int64) == 4096)
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(Int64(info.st_blocks) * 512 >= size, "\(info.st_blocks) blocks of 512 B reserved for \(size) B")
    }
}
