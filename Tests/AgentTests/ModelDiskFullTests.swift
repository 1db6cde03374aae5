import FleetProtocol
import Foundation
import Synchronization
import Testing
@testable import Agent

/// Model downloads on a real, small file system the test mounts (issue 9 "Disk too small"):
/// refused before any byte is fetched when it cannot hold the model; a download whose blocks
/// were reserved survives someone else filling the disk; where the file system cannot reserve,
/// a disk that fills mid-download stops the download with the reason and it resumes later.
@Suite("Model downloads on a small disk", .serialized,
       .enabled(if: SmallFileSystem.tmpfsAvailable, "needs root to mount a tmpfs (CI runs as root)"))
struct ModelDiskFullTests {
    /// A blob source that calls `whenFirstPiece` once, after the first piece was delivered.
    final class InterferingBlobSource: ModelBlobSource {
        let inner: any ModelBlobSource
        let whenFirstPiece: @Sendable () -> Void
        let fired = Mutex(false)
        let delivered = Mutex<[Range<Int64>]>([])

        init(_ inner: any ModelBlobSource, whenFirstPiece: @escaping @Sendable () -> Void) {
            self.inner = inner
            self.whenFirstPiece = whenFirstPiece
        }

        func fetch(blob sha256: String, range: Range<Int64>, sink: (Data) async throws -> Void) async throws {
            delivered.withLock { $0.append(range) }
            try await inner.fetch(blob: sha256, range: range) { data in
                try await sink(data)
                if !fired.withLock({ let was = $0; $0 = true; return was }) { whenFirstPiece() }
            }
        }
    }

    @Test func aModelLargerThanTheDiskIsRefusedBeforeAnyByteIsFetched() async throws {
        let disk = try SmallFileSystem(.tmpfs, mebibytes: 2)
        defer { disk.unmount() }
        let manifest = try ModelUpdateFixtures.manifest(llm: "demo-llm")
        let source = RecordingBlobSource(DirectoryBlobSource(directory: try ModelUpdateFixtures.blobDirectory(["demo-llm", "demo-mmproj"])))
        let downloader = ModelDownloadTests.downloader(source, staging: disk.path, minFree: 0)
        do {
            try downloader.checkSpace(for: manifest.files)
            Issue.record("a 4.7 MB model was accepted on a 2 MiB disk")
        } catch let error as AgentError {
            #expect(error.kind == .modelUpdate)
            #expect(error.message.contains("not enough disk space") && error.message.contains("MiB are free"), "\(error.message)")
        }
        #expect(source.ranges.isEmpty)
        #expect((try FileManager.default.contentsOfDirectory(atPath: disk.path)).isEmpty)
    }

    /// tmpfs reserves the part's blocks (fallocate KEEP_SIZE) when the download starts; another
    /// writer then fills the disk to the last byte, and the download still completes.
    @Test func aReservedDownloadSurvivesTheDiskFillingUp() async throws {
        let disk = try SmallFileSystem(.tmpfs, mebibytes: 8)
        defer { disk.unmount() }
        let file = try ModelUpdateFixtures.manifestFile(role: "mmproj", key: "demo-mmproj")
        let blobs = try ModelUpdateFixtures.blobDirectory(["demo-mmproj"])
        final class Filled: Sendable { let value = Mutex<(bytes: Int64, freeAfter: Int64)>((0, -1)) }
        let filled = Filled()
        let source = InterferingBlobSource(DirectoryBlobSource(directory: blobs, pieceBytes: 64 << 10)) {
            let bytes = disk.fill("queue-grows.bin")
            filled.value.withLock { $0 = (bytes, disk.freeBytes) }
        }
        let path = try await ModelDownloadTests.downloader(source, staging: disk.path, attempts: 1).download(file)
        let (bytes, freeAfter) = filled.value.withLock { $0 }
        #expect(bytes > 3 << 20, "the other writer took \(bytes) bytes")
        #expect(freeAfter < Int64(file.sizeBytes) - (64 << 10), "the disk was full (\(freeAfter) B free) while most of the blob was still to come")
        #expect(FileManager.default.contents(atPath: path) == FileManager.default.contents(atPath: ModelUpdateFixtures.demoMMProj))
    }

    /// ext2 cannot reserve: the disk fills mid-download, the download stops with the reason
    /// (not a refused model: `.io`, retried later) keeping its durable part, and once space is
    /// back a new run fetches only the rest.
    @Test(.enabled(if: SmallFileSystem.ext2Available, "needs loop devices and mkfs.ext2"))
    func withoutReservationAFullDiskStopsTheDownloadAndItResumesLater() async throws {
        let disk = try SmallFileSystem(.ext2, mebibytes: 8)
        defer { disk.unmount() }
        let file = try ModelUpdateFixtures.manifestFile(role: "mmproj", key: "demo-mmproj")
        let blobs = try ModelUpdateFixtures.blobDirectory(["demo-mmproj"])
        let source = InterferingBlobSource(DirectoryBlobSource(directory: blobs, pieceBytes: 64 << 10)) { _ = disk.fill("queue-grows.bin") }
        let downloader = ModelDownloadTests.downloader(source, staging: disk.path, attempts: 1, checkpoint: 64 << 10)
        do {
            _ = try await downloader.download(file)
            Issue.record("the download finished on a full disk")
        } catch let error as AgentError {
            #expect(error.kind == .io)
            #expect(error.message.contains("disk filled"), "\(error.message)")
        }
        let durable = downloader.stagedBytes(of: file)
        #expect(durable > 0 && durable < Int64(file.sizeBytes))

        unlink(disk.path + "/queue-grows.bin")
        let rest = RecordingBlobSource(DirectoryBlobSource(directory: blobs))
        let path = try await ModelDownloadTests.downloader(rest, staging: disk.path).download(file)
        #expect(rest.ranges.first?.lowerBound == durable)
        #expect(rest.delivered == Int64(file.sizeBytes) - durable)
        #expect(FileManager.default.contents(atPath: path) == FileManager.default.contents(atPath: ModelUpdateFixtures.demoMMProj))
    }

    /// The same for a tensor delta: its output file and progress record take their blocks when
    /// it starts; another writer filling the disk after the first piece does not stop it.
    @Test func aDeltaSurvivesTheDiskFillingUp() async throws {
        let disk = try SmallFileSystem(.tmpfs, mebibytes: 4)
        defer { disk.unmount() }
        let file = try ModelUpdateFixtures.manifestFile(role: "llm", key: "llm-v2")
        let blobs = try ModelUpdateFixtures.blobDirectory(["llm-v2"])
        final class FreeAfterFill: Sendable { let bytes = Mutex<Int64>(-1) }
        let freeAfterFill = FreeAfterFill()
        let source = InterferingBlobSource(DirectoryBlobSource(directory: blobs, pieceBytes: 16 << 10)) {
            disk.fill("queue-grows.bin")
            freeAfterFill.bytes.withLock { $0 = disk.freeBytes }
        }
        var settings = ModelDownloader.Settings()
        settings.maxAttempts = 1
        let outcome = try await GGUFDeltaAssembler(source: source, stagingDirectory: disk.path, initialHeaderBytes: 4096, settings: settings)
            .assemble(file, reusing: [ModelUpdateFixtures.demoLLM])
        let free = freeAfterFill.bytes.withLock { $0 }
        #expect(free >= 0 && free < 16 << 10, "the disk was full (\(free) B free) with the changed tensors still to come")
        #expect(outcome.fetchedTensors == 12)
        #expect(FileManager.default.contents(atPath: outcome.path) == FileManager.default.contents(atPath: ModelUpdateFixtures.path(of: "llm-v2")))
    }
}
