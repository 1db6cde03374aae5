import ArgumentParser
import FleetProtocol
import Foundation
import SwiftProtobuf

/// `edgevlm-coordinator models list`: registered models, one JSON object per line (digest, name,
/// version, registration time; the signed manifest is left out unless `--manifest`).
struct ModelsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List registered models (JSON lines).")

    @OptionGroup var connection: OperatorConnection

    @Flag(help: "Include each model's signed manifest.")
    var manifest = false

    func run() async throws {
        let response = try await connection.withOperator { client, metadata in
            try await client.listModels(.init(), metadata: metadata)
        }
        for var model in response.models {
            if !manifest { model.clearSignedManifest() }
            print(try model.jsonString())
        }
    }
}

/// `edgevlm-coordinator rollouts …`: staged model rollouts.
struct RolloutsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollouts",
        abstract: "Create, inspect, pause, resume, abort or roll back staged model rollouts.",
        subcommands: [RolloutCreateCommand.self, RolloutListCommand.self, RolloutShowCommand.self,
                      RolloutPauseCommand.self, RolloutResumeCommand.self, RolloutAbortCommand.self,
                      RolloutRollbackCommand.self])
}

/// One stage given as `PERCENT[:MIN_DEVICES[:SOAK_SECONDS]]`.
struct RolloutStageArgument: ExpressibleByArgument {
    let stage: FleetRolloutStage

    init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count), let percent = UInt32(parts[0]), (1...100).contains(percent) else { return nil }
        var stage = FleetRolloutStage()
        stage.percent = percent
        stage.minDevices = 1
        if parts.count > 1 {
            guard let minimum = UInt32(parts[1]) else { return nil }
            stage.minDevices = minimum
        }
        if parts.count > 2 {
            guard let soak = UInt32(parts[2]) else { return nil }
            stage.soakSeconds = soak
        }
        self.stage = stage
    }
}

/// `rollouts create`: prints the new rollout (JSON).
struct RolloutCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Roll a registered model out to the devices carrying every given tag, in stages.")

    @OptionGroup var connection: OperatorConnection

    @Option(help: "Model digest (from `models list` or `models publish`).")
    var model: String

    @Option(name: .customLong("tag"), help: "Target devices carrying this tag; repeatable (all must match). None: every device.")
    var tags: [String] = []

    @Option(name: .customLong("stage"), help: ArgumentHelp(
        "A stage as PERCENT[:MIN_DEVICES[:SOAK_SECONDS]], in order; repeatable; the last must be 100. Default: 1 10 50 100 with one device and no soak each.",
        valueName: "stage"))
    var stages: [RolloutStageArgument] = []

    @Option(name: .customLong("success-percent"), help: "Share of a stage's devices that must succeed before it is promoted.")
    var successPercent: UInt32 = 100

    @Option(name: .customLong("max-failures"), help: "Pause when this many devices failed (0: no count limit).")
    var maxFailures: UInt32 = 0

    @Option(name: .customLong("max-failure-percent"), help: "Pause when this share of finished devices failed (0: no share limit) ...")
    var maxFailurePercent: UInt32 = 0

    @Option(name: .customLong("min-finished"), help: "... once at least this many devices finished.")
    var minFinished: UInt32 = 0

    func validate() throws {
        guard !model.isEmpty else { throw ValidationError("--model must name a registered model digest") }
        if let last = stages.last, last.stage.percent != 100 {
            throw ValidationError("the last --stage must be 100 (all target devices), not \(last.stage.percent)")
        }
        let percents = stages.map(\.stage.percent)
        guard percents == percents.sorted() else { throw ValidationError("--stage percents must not decrease: \(percents)") }
        guard (1...100).contains(successPercent), maxFailurePercent <= 100 else {
            throw ValidationError("--success-percent must be 1-100 and --max-failure-percent 0-100")
        }
    }

    func run() async throws {
        var request = Edgevlm_Fleet_V1_CreateRolloutRequest()
        request.modelDigest = model
        request.targetTags = tags
        request.stages = stages.isEmpty
            ? [1, 10, 50, 100].compactMap { RolloutStageArgument(argument: "\($0)")?.stage }
            : stages.map(\.stage)
        request.policy.successPercent = successPercent
        request.policy.maxFailures = maxFailures
        request.policy.maxFailurePercent = maxFailurePercent
        request.policy.minFinishedForFailurePercent = minFinished
        let rollout = try await connection.withOperator { client, metadata in
            try await client.createRollout(request, metadata: metadata)
        }
        print(try rollout.jsonString())
    }
}

/// `rollouts list`: every rollout, one JSON object per line.
struct RolloutListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List rollouts (JSON lines).")

    @OptionGroup var connection: OperatorConnection

    func run() async throws {
        let response = try await connection.withOperator { client, metadata in
            try await client.listRollouts(.init(), metadata: metadata)
        }
        for rollout in response.rollouts { print(try rollout.jsonString()) }
    }
}

/// `rollouts show ID`: the rollout and every device's state and failure reason (JSON).
struct RolloutShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a rollout with each device's state and failure reason (JSON).")

    @OptionGroup var connection: OperatorConnection

    @Argument(help: "Rollout id.")
    var id: String

    func run() async throws {
        var request = Edgevlm_Fleet_V1_GetRolloutRequest()
        request.rolloutID = id
        let detail = try await connection.withOperator { client, metadata in
            try await client.getRollout(request, metadata: metadata)
        }
        print(try detail.jsonString())
    }
}

/// What the action commands share: the rollout id and the operator's reason (audit-logged).
struct RolloutActionArguments: ParsableArguments {
    @Argument(help: "Rollout id.")
    var id: String

    @Option(help: "Why (kept with the rollout and in the audit log).")
    var reason: String = ""

    var request: Edgevlm_Fleet_V1_RolloutActionRequest {
        var request = Edgevlm_Fleet_V1_RolloutActionRequest()
        request.rolloutID = id
        request.reason = reason
        return request
    }
}

struct RolloutPauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Stop assigning the model to more devices (prints the rollout).")
    @OptionGroup var connection: OperatorConnection
    @OptionGroup var action: RolloutActionArguments

    func run() async throws {
        let request = action.request
        let rollout = try await connection.withOperator { try await $0.pauseRollout(request, metadata: $1) }
        print(try rollout.jsonString())
    }
}

struct RolloutResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Resume a paused rollout (prints the rollout).")
    @OptionGroup var connection: OperatorConnection
    @OptionGroup var action: RolloutActionArguments

    func run() async throws {
        let request = action.request
        let rollout = try await connection.withOperator { try await $0.resumeRollout(request, metadata: $1) }
        print(try rollout.jsonString())
    }
}

struct RolloutAbortCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abort", abstract: "End a rollout; devices keep what they run (prints the rollout).")
    @OptionGroup var connection: OperatorConnection
    @OptionGroup var action: RolloutActionArguments

    func run() async throws {
        let request = action.request
        let rollout = try await connection.withOperator { try await $0.abortRollout(request, metadata: $1) }
        print(try rollout.jsonString())
    }
}

struct RolloutRollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "End a rollout and send its devices back to the previous model (prints the rollout).")
    @OptionGroup var connection: OperatorConnection
    @OptionGroup var action: RolloutActionArguments

    func run() async throws {
        let request = action.request
        let rollout = try await connection.withOperator { try await $0.rollbackRollout(request, metadata: $1) }
        print(try rollout.jsonString())
    }
}
