#if canImport(Glibc)
import Glibc
#endif
import FleetProtocol
import Foundation

/// Takes an assigned model from signed manifest to active slot (issue 9): verify the
/// signature, check disk space, stage each file (hard-linked from the active slot when
/// unchanged, assembled as a tensor delta when the manifest has tensor digests, else
/// downloaded whole and resumably), install into the inactive slot, run the canary, switch.
/// Every step is reported through `report` with the state the coordinator's rollout counts.
public struct ModelUpdater: Sendable {
    /// What an update did.
    public struct Outcome: Sendable, Equatable {
        public var modelDigest: String
        public var slot: ModelStore.Slot
        /// Bytes fetched from the server, and bytes the device already had (links, delta reuse).
        public var fetchedBytes: Int64
        public var reusedBytes: Int64
        public var canary: CanaryReport?
        /// True when the model was already active and nothing was done.
        public var alreadyActive: Bool
    }

    public let store: ModelStore
    public let verifier: ManifestVerifier
    public let downloader: ModelDownloader
    public let canary: CanaryEvaluator?
    public let report: @Sendable (FleetRolloutDeviceState, String) async -> Void

    public init(store: ModelStore, verifier: ManifestVerifier, downloader: ModelDownloader, canary: CanaryEvaluator?,
                report: @escaping @Sendable (FleetRolloutDeviceState, String) async -> Void = { _, _ in }) {
        self.store = store
        self.verifier = verifier
        self.downloader = downloader
        self.canary = canary
        self.report = report
    }

    /// Applies `assignment`. Throws `AgentError(.modelUpdate)` with the reason (already
    /// reported as FAILED) when the model is refused; the active model is then unchanged.
    /// Transient fetch failures that exhaust the attempts also throw; a later call resumes.
    @discardableResult
    public func apply(_ assignment: FleetModelAssignment) async throws -> Outcome {
        do {
            return try await run(assignment)
        } catch let error as AgentError {
            await report(.failed, error.message)
            throw error
        }
    }

    private func run(_ assignment: FleetModelAssignment) async throws -> Outcome {
        let active = store.activeModel()
        if let active, active.record.modelDigest == assignment.modelDigest {
            return Outcome(modelDigest: assignment.modelDigest, slot: active.slot, fetchedBytes: 0, reusedBytes: 0,
                           canary: nil, alreadyActive: true)
        }
        let verified = try verifier.verify(assignment.signedManifest, expectedDigest: assignment.modelDigest)
        let manifest = verified.manifest
        var outcome = Outcome(modelDigest: verified.digest, slot: store.installSlot, fetchedBytes: 0, reusedBytes: 0,
                              canary: nil, alreadyActive: false)

        // The inactive slot may already hold it (a rollback, or a switch interrupted by a crash).
        if store.record(of: store.installSlot)?.modelDigest != verified.digest {
            await report(.downloading, "")
            let activeFiles = active?.record.files ?? []
            let activeSlot = active?.slot
            let toFetch = manifest.files.filter { file in !activeFiles.contains { $0.sha256 == file.sha256 } }
            try downloader.checkSpace(for: toFetch)
            var staged: [String: String] = [:]
            for file in manifest.files {
                let target = downloader.stagedPath(of: file.sha256)
                if let same = activeFiles.first(where: { $0.sha256 == file.sha256 }), let activeSlot {
                    // Unchanged file: a hard link, no bytes copied (files are never written in place).
                    if !FileManager.default.fileExists(atPath: target) {
                        guard link(store.directory(of: activeSlot) + "/" + same.fileName, target) == 0 else {
                            throw AgentError(.io, "cannot link the unchanged \(file.fileName): \(String(cString: strerror(errno)))", path: target)
                        }
                    }
                    outcome.reusedBytes += Int64(file.sizeBytes)
                } else if !file.tensors.isEmpty, let active, !FileManager.default.fileExists(atPath: target),
                          downloader.stagedBytes(of: file) == 0 {
                    let assembler = GGUFDeltaAssembler(source: downloader.source, stagingDirectory: store.stagingDirectory)
                    do {
                        let delta = try await assembler.assemble(file, reusing: [active.llmPath, active.mmprojPath])
                        outcome.fetchedBytes += delta.fetchedBytes
                        outcome.reusedBytes += delta.reusedBytes
                    } catch {
                        // A delta that cannot be made, fetched or verified: fetch the whole file
                        // instead (a refusing server refuses that too, after one more request).
                        outcome.fetchedBytes += try await full(file)
                    }
                } else {
                    outcome.fetchedBytes += try await full(file)
                }
                staged[file.role] = target
            }
            await report(.verifying, "")
            for file in manifest.files {
                guard let path = staged[file.role] else { continue }
                try ManifestVerifier.checkFile(path, against: file)
            }
            let record = ModelSlotRecord(
                modelDigest: verified.digest, name: manifest.name, version: manifest.version,
                files: manifest.files.map { .init(role: $0.role, fileName: ModelStore.fileName(role: $0.role),
                                                  sizeBytes: Int64($0.sizeBytes), sha256: $0.sha256) },
                rolloutID: assignment.rolloutID)
            outcome.slot = try store.install(stagedFiles: staged, record: record)
            downloader.prune(keeping: [])
        }

        let slot = outcome.slot
        if let canary, var record = store.record(of: slot) {
            await report(.evaluating, "")
            let result = try await canary.evaluate(llm: store.path(of: "llm", in: slot), mmproj: store.path(of: "mmproj", in: slot))
            outcome.canary = result
            record.evaluation = result.summary
            try store.writeRecord(record, in: slot)
            guard result.passed else {
                throw AgentError(.modelUpdate, "the canary failed: \(result.reason)")
            }
        }
        try store.activate(slot)
        TestCrashPoint.switchRenamed.reach()
        await report(.active, outcome.canary?.summary ?? "")
        return outcome
    }

    private func full(_ file: FleetManifestFile) async throws -> Int64 {
        let before = downloader.stagedBytes(of: file)
        try await downloader.download(file)
        return Int64(file.sizeBytes) - before
    }
}
