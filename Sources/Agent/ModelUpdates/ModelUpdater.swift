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
        /// Bytes an interrupted earlier attempt had fetched and this one kept (not fetched again).
        public var resumedBytes: Int64 = 0
        public var canary: CanaryReport?
        /// True when the model was already active and nothing was done.
        public var alreadyActive: Bool
    }

    public let store: ModelStore
    public let verifier: ManifestVerifier
    public let downloader: ModelDownloader
    public let canary: CanaryEvaluator?
    public let report: @Sendable (FleetRolloutDeviceState, String) async -> Void
    /// The health window to open when a switch happens (made at the switch), nil for none.
    public let healthWindow: (@Sendable () -> HealthWindow)?

    /// `healthWindow`: when set, a switch saves a `ModelHealthWatch` right after `active` is
    /// renamed and before ACTIVE is reported, so a crash at any point after the switch still
    /// leaves the new model watched (`InterruptedSwitch` finishes the rest at the next start).
    public init(store: ModelStore, verifier: ManifestVerifier, downloader: ModelDownloader, canary: CanaryEvaluator?,
                report: @escaping @Sendable (FleetRolloutDeviceState, String) async -> Void = { _, _ in },
                healthWindow: (@Sendable () -> HealthWindow)? = nil) {
        self.store = store
        self.verifier = verifier
        self.downloader = downloader
        self.canary = canary
        self.healthWindow = healthWindow
        self.report = report
    }

    /// Applies `assignment`. Throws `AgentError(.modelUpdate)` with the reason (already
    /// reported as FAILED) when the model is refused; the active model is then unchanged.
    /// Transient failures (link, disk: any other kind) that exhaust the attempts also throw,
    /// reported as DOWNLOADING with the reason, not FAILED: the model was not refused, a later
    /// call resumes, and a rollout must not count a cut link as a bad model.
    @discardableResult
    public func apply(_ assignment: FleetModelAssignment) async throws -> Outcome {
        do {
            return try await run(assignment)
        } catch let error as AgentError {
            if error.kind == .modelUpdate {
                await report(.failed, error.message)
            } else {
                await report(.downloading, "interrupted, will resume: " + error.message)
            }
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
                    let assembler = GGUFDeltaAssembler(source: downloader.source, stagingDirectory: store.stagingDirectory,
                                                       settings: downloader.settings)
                    do {
                        let delta = try await assembler.assemble(file, reusing: [active.llmPath, active.mmprojPath])
                        outcome.fetchedBytes += delta.fetchedBytes
                        outcome.reusedBytes += delta.reusedBytes
                        outcome.resumedBytes += delta.resumedBytes
                    } catch let error as AgentError where error.kind == .modelUpdate {
                        // A delta that cannot be made or verified: fetch the whole file instead (a
                        // refusing server refuses that too, after one more request). A delta cut
                        // by the link or a crash is not this: it throws `.io` and resumes next time.
                        try await full(file, into: &outcome)
                    }
                } else {
                    try await full(file, into: &outcome)
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
        let previous = active?.record.modelDigest ?? ""
        try store.activate(slot)
        TestCrashPoint.switchRenamed.reach()
        // The window before the report: after a crash past this point the agent resumes the
        // watch; before it, `InterruptedSwitch` opens it (the report is not yet ACTIVE).
        // The switch is done: nothing below may report FAILED for the model now active.
        if let healthWindow {
            do {
                try ModelHealthWatch(modelDigest: outcome.modelDigest, rolloutID: assignment.rolloutID, previousDigest: previous,
                                     window: healthWindow()).save(in: store.root)
            } catch {
                // Left to the restart: `InterruptedSwitch` opens the window and reports ACTIVE.
                return outcome
            }
        }
        TestCrashPoint.switchWatchSaved.reach()
        // Rolled back in an earlier rollout, active again through this one: no longer blocked
        // (a failure only leaves a stale entry of a model that is active anyway).
        try? RolledBackModels.clear(outcome.modelDigest, in: store.root)
        await report(.active, outcome.canary?.summary ?? "")
        TestCrashPoint.switchReported.reach()
        return outcome
    }

    private func full(_ file: FleetManifestFile, into outcome: inout Outcome) async throws {
        let before = downloader.stagedBytes(of: file)
        try await downloader.download(file)
        outcome.fetchedBytes += Int64(file.sizeBytes) - before
        outcome.resumedBytes += before
    }
}
