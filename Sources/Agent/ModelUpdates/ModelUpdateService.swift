import FleetProtocol
import Foundation
import Logging
import ServiceLifecycle

/// Applies the model the coordinator assigned (recorded by sync in
/// `<state>/sync/desired-model.json`) in the background: download, verify, canary, switch, with
/// each state queued for the coordinator (`RolloutReportOutbox`, sent by the sync service).
/// After a switch the agent stops with an error so systemd (`Restart=on-failure`) starts it
/// again on the new active slot: jobs in flight finish first (graceful shutdown). The switch opens
/// a health window (`ModelHealthWatch`); a model it rolled back is not applied again in the same
/// rollout (`RolledBackModels`).
struct ModelUpdateService: Service {
    let configuration: AgentConfiguration
    let pollSeconds: Double
    let logger: Logger

    /// Thrown to restart the agent on the newly active model.
    struct RestartForNewModel: Error, CustomStringConvertible {
        var digest: String
        var description: String { "model \(digest) is now active; the agent restarts to load it" }
    }

    func run() async throws {
        let modelsDirectory = configuration.modelsDirectory
        var refused: Set<String> = []
        // On a metered link, downloads wait for a sync window ([sync] metered, windows).
        let link = try SyncLinkPolicy(sync: configuration.sync)
        var waitingLogged = false
        while !Task.isCancelled {
            let downloadsAllowed = link.mayDownloadModels(at: Date())
            if !downloadsAllowed, !waitingLogged {
                logger.notice("metered link: model downloads wait for the next sync window")
            }
            waitingLogged = !downloadsAllowed
            if downloadsAllowed, let assignment = try? ModelUpdateSetup.recordedAssignment(configuration),
               !refused.contains(assignment.modelDigest),
               !RolledBackModels.blocks(assignment, in: modelsDirectory),
               (try? ModelStore(root: modelsDirectory))?.activeModel()?.record.modelDigest != assignment.modelDigest {
                let rolloutID = assignment.rolloutID
                let digest = assignment.modelDigest
                let logger = logger
                do {
                    let models = configuration.models
                    let (updater, source) = try ModelUpdateSetup.updater(configuration, healthWindow: { models.healthWindow() },
                                                                         report: { state, reason in
                        do {
                            try RolloutReportOutbox.record(rolloutID: rolloutID, modelDigest: digest, state: state, reason: reason,
                                                           in: modelsDirectory)
                        } catch {
                            logger.warning("cannot queue the rollout report", metadata: ["error": "\(error)"])
                        }
                        logger.notice("model update", metadata: ["state": "\(state)", "digest": "\(digest)", "reason": "\(reason)"])
                    })
                    let outcome: ModelUpdater.Outcome
                    do {
                        outcome = try await updater.apply(assignment)
                        await source.shutdown()
                    } catch {
                        await source.shutdown()
                        throw error
                    }
                    if !outcome.alreadyActive {
                        // The updater opened the health window; the restarted agent's jobs feed it.
                        throw RestartForNewModel(digest: outcome.modelDigest)
                    }
                } catch let error as AgentError where error.kind == .modelUpdate {
                    // Refused (signature, canary, 4xx, disk): not retried until a new assignment.
                    refused.insert(digest)
                    logger.error("model update refused", metadata: ["digest": "\(digest)", "reason": "\(error.message)"])
                } catch let error as RestartForNewModel {
                    throw error
                } catch {
                    logger.warning("model update failed; will retry", metadata: ["digest": "\(digest)", "error": "\(error)"])
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(pollSeconds)) }
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
        }
    }
}
