import FleetProtocol
import Foundation

/// Builds the model-update pieces from the agent's configuration, shared by the agent and the
/// `edgevlm models` commands.
public enum ModelUpdateSetup {
    /// `model` with its files taken from the store's active slot when the store has one (the
    /// configured `[model]` paths otherwise): the model the worker runs.
    public static func runningModel(_ configuration: AgentConfiguration) -> AgentConfiguration.Model {
        var model = configuration.model
        if let store = try? ModelStore(root: configuration.modelsDirectory), let active = store.activeModel() {
            model.llm = active.llmPath
            model.mmproj = active.mmprojPath
        }
        return model
    }

    /// The assignment sync recorded in `<state>/sync/desired-model.json`, or nil.
    /// Throws `.modelUpdate` when the file exists but does not parse.
    public static func recordedAssignment(_ configuration: AgentConfiguration) throws -> FleetModelAssignment? {
        let path = SyncDesiredModel.path(in: configuration.syncDirectory)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do { return try FleetModelAssignment(jsonUTF8Data: data) } catch {
            throw AgentError(.modelUpdate, "the recorded model assignment does not parse: \(error)", path: path)
        }
    }

    /// The updater for `configuration`: blobs from `[models] artifact_url` with the device's
    /// enrolled credential (or `credential` when given), keys from `[models] trusted_keys`, the
    /// canary from `[models] canary_file` run on the runtime engine with the `[model]` options;
    /// `healthWindow` opens a window at each switch (the agent; the CLI passes none).
    /// Throws `.configuration` for a missing URL, keys or canary file, `.io` for the store.
    public static func updater(_ configuration: AgentConfiguration, credential: String? = nil,
                               progress: @escaping @Sendable (ModelDownloader.Progress) -> Void = { _ in },
                               healthWindow: (@Sendable () -> HealthWindow)? = nil,
                               report: @escaping @Sendable (FleetRolloutDeviceState, String) async -> Void = { _, _ in })
        throws -> (updater: ModelUpdater, source: HTTPBlobSource) {
        let models = configuration.models
        guard !models.artifactURL.isEmpty else {
            throw AgentError(.configuration, "set the coordinator's artifact server, e.g. \"http://fleet:7080\"", key: "models.artifact_url")
        }
        guard !models.trustedKeys.isEmpty else {
            throw AgentError(.configuration, "no model-signing key is trusted: every model would be refused", key: "models.trusted_keys")
        }
        let verifier = try ManifestVerifier(publicKeys: models.trustedKeys)
        let bearer = try credential ?? SyncIdentity.load(from: configuration.syncDirectory)?.credential ?? ""
        let source = HTTPBlobSource(baseURL: models.artifactURL, credential: bearer, stallSeconds: models.stallSeconds)
        let store = try ModelStore(root: configuration.modelsDirectory)
        var settings = ModelDownloader.Settings()
        settings.minFreeBytes = Int64(models.minFreeMiB) << 20
        settings.bandwidthBytesPerSecond = Int64(models.bandwidthKiBPerSecond) << 10
        settings.maxAttempts = models.maxAttempts
        let downloader = ModelDownloader(source: source, stagingDirectory: store.stagingDirectory, settings: settings, progress: progress)
        var canary: CanaryEvaluator?
        if !models.canaryFile.isEmpty {
            let (set, directory) = try CanarySet.load(path: models.canaryFile)
            let base = configuration.model
            canary = CanaryEvaluator(set: set, directory: directory) { llm, mmproj in
                var model = base
                model.llm = llm
                model.mmproj = mmproj
                return try RuntimeCaptionEngine(configuration: model)
            }
        }
        return (ModelUpdater(store: store, verifier: verifier, downloader: downloader, canary: canary, report: report,
                             healthWindow: healthWindow), source)
    }
}
