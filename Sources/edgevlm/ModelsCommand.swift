#if canImport(Agent)
import Agent
import ArgumentParser
import FleetProtocol
import Foundation

/// `edgevlm models`: the device's A/B model store (local; issue 9). `pull`, `activate` and
/// `rollback` take the agent's state lock and refuse while an agent runs on the same state.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "Show and change this device's model slots (A/B), pull an assigned model.",
        subcommands: [ModelsListCommand.self, ModelsPullCommand.self, ModelsActivateCommand.self, ModelsRollbackCommand.self])
}

struct ModelStoreOptions: ParsableArguments {
    @Option(name: .long, help: "Agent configuration file (TOML).")
    var config: String = AgentConfiguration.defaultPath

    func load() throws -> (AgentConfiguration, ModelStore) {
        let configuration = try AgentConfiguration.load(path: config)
        return (configuration, try ModelStore(root: configuration.modelsDirectory))
    }

    /// `load()` plus the agent's state lock, held until the command ends: a command that changes
    /// the store refuses to run beside an agent using it. Throws `AgentError(.alreadyRunning)`.
    func loadExclusive() throws -> (AgentConfiguration, ModelStore, StateLock) {
        let (configuration, store) = try load()
        do {
            return (configuration, store, try StateLock(path: configuration.lockPath))
        } catch let error as AgentError where error.kind == .alreadyRunning {
            throw AgentError(.alreadyRunning, "the agent is running on this state directory and updates the same model store: "
                             + "stop it first (systemctl stop edgevlm-agent), or let it apply the coordinator's assignment",
                             path: configuration.lockPath)
        }
    }
}

/// `models list`: both slots (digest, name, version, files, evaluation) and which is active.
struct ModelsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Show both slots and the active one.")
    @OptionGroup var options: ModelStoreOptions

    func run() throws {
        let (configuration, store) = try options.load()
        let active = store.activeSlot()
        for slot in ModelStore.Slot.allCases {
            let marker = slot == active ? "*" : " "
            guard let record = store.record(of: slot) else {
                print("\(marker) \(slot.rawValue)  (empty)")
                continue
            }
            print("\(marker) \(slot.rawValue)  \(record.modelDigest)  \(record.name) \(record.version)  rollout \(record.rolloutID.isEmpty ? "-" : record.rolloutID)")
            for file in record.files { print("      \(file.role)  \(file.sizeBytes) bytes  sha256 \(file.sha256)") }
            print("      canary: \(record.evaluation.isEmpty ? "not run" : record.evaluation)")
        }
        if active == nil { print("no active slot: the agent runs [model] llm = \(configuration.model.llm)") }
    }
}

/// `models activate A|B`: switches to a complete slot (no canary: the operator's decision).
struct ModelsActivateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "activate", abstract: "Make slot A or B active.")
    @OptionGroup var options: ModelStoreOptions
    @Argument(help: "A or B.") var slot: String

    func run() throws {
        guard let target = ModelStore.Slot(rawValue: slot.uppercased()) else { throw ValidationError("slot must be A or B") }
        let (_, store, lock) = try options.loadExclusive()
        defer { lock.release() }
        try store.activate(target)
        // The operator chose this model: a rollout of it that was rolled back may be applied again.
        if let digest = store.record(of: target)?.modelDigest { try RolledBackModels.clear(digest, in: store.root) }
        print("slot \(target.rawValue) is active; restart the agent to load it")
    }
}

/// `models rollback`: back to the other slot.
struct ModelsRollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rollback", abstract: "Switch back to the other (previous) slot.")
    @OptionGroup var options: ModelStoreOptions

    func run() throws {
        let (_, store, lock) = try options.loadExclusive()
        defer { lock.release() }
        let slot = try store.rollback()
        print("slot \(slot.rawValue) is active; restart the agent to load it")
    }
}

/// `models pull`: applies the assignment sync recorded (or one given as a file): download with
/// a progress bar, verify, canary, switch.
struct ModelsPullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull", abstract: "Download, verify, evaluate and activate the assigned model, with progress.")
    @OptionGroup var options: ModelStoreOptions
    @Option(help: "A ModelAssignment as protobuf JSON (default: the one sync recorded in STATE/sync/desired-model.json).")
    var assignment: String?
    @Option(name: .customLong("token-file"), help: "Bearer credential for the artifact server (default: the device's enrolled credential).")
    var tokenFile: String?

    func run() async throws {
        let (configuration, _, lock) = try options.loadExclusive()
        defer { lock.release() }
        let wanted: FleetModelAssignment
        if let assignment {
            guard let data = FileManager.default.contents(atPath: assignment) else { throw ValidationError("cannot read \(assignment)") }
            wanted = try FleetModelAssignment(jsonUTF8Data: data)
        } else {
            guard let recorded = try ModelUpdateSetup.recordedAssignment(configuration) else {
                throw ValidationError("no model is assigned to this device yet (give --assignment FILE)")
            }
            wanted = recorded
        }
        let credential = try tokenFile.map { path -> String in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path)") }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let (updater, source) = try ModelUpdateSetup.updater(configuration, credential: credential, progress: { progress in
            let fraction = progress.totalBytes > 0 ? Double(progress.doneBytes) / Double(progress.totalBytes) : 1
            let filled = Int(fraction * 30)
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
            FileHandle.standardError.write(Data(String(format: "\r%@ [%@] %5.1f %% %lld/%lld", progress.fileName, bar,
                                                       fraction * 100, progress.doneBytes, progress.totalBytes).utf8))
            if progress.doneBytes == progress.totalBytes { FileHandle.standardError.write(Data("\n".utf8)) }
        }, report: { state, reason in
            FileHandle.standardError.write(Data("\(state)\(reason.isEmpty ? "" : ": " + reason)\n".utf8))
        })
        let start = ContinuousClock.now
        do {
            let outcome = try await updater.apply(wanted)
            await source.shutdown()
            if outcome.alreadyActive {
                print("model \(outcome.modelDigest) is already active in slot \(outcome.slot.rawValue)")
            } else {
                print("model \(outcome.modelDigest) active in slot \(outcome.slot.rawValue): fetched \(outcome.fetchedBytes) bytes, "
                      + "reused \(outcome.reusedBytes) bytes, resumed \(outcome.resumedBytes) bytes, \(ContinuousClock.now - start)")
            }
        } catch {
            await source.shutdown()
            throw error
        }
    }
}
#endif
