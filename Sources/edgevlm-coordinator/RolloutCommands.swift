import ArgumentParser
import FleetProtocol
import Foundation
import SwiftProtobuf

/// `edgevlm-coordinator models list`: registered models, one JSON object per line.
struct ModelsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List registered models (JSON lines: digest, name, version, manifest).")

    @OptionGroup var connection: OperatorConnection

    func run() async throws {
        let response = try await connection.withOperator { client, metadata in
            try await client.listModels(Edgevlm_Fleet_V1_ListModelsRequest(), metadata: metadata)
        }
        for model in response.models { print(try model.jsonString()) }
    }
}

/// `edgevlm-coordinator rollouts`: staged model rollouts.
struct RolloutsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollouts", abstract: "Create, inspect and steer staged model rollouts.",
        subcommands: [RolloutsCreateCommand.self, RolloutsListCommand.self, RolloutsShowCommand.self,
                      RolloutsPauseCommand.self, RolloutsResumeCommand.self, RolloutsAbortCommand.self,
                      RolloutsRollbackCommand.self])
}

/// `rollouts create`: starts a rollout of a registered model to the devices carrying every tag.
/// Prints the created rollout as one JSON object.
struct RolloutsCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Start a staged rollout of a registered model.")

    @OptionGroup var connection: OperatorConnection

    @Option(help: "Digest of a registered model (see `models list`).")
    var model: String

    @Option(name: .customLong("tags"), help: "Target tags, comma-separated; devices carrying all of them take part (repeatable).")
    var tags: [String] = []

    @Option(help: "Stage sizes in percent of the target devices, comma-separated, rising, ending at 100.")
    var stages = "1,10,50,100"

    @Option(name: .customLong("min-devices"), help: "Devices of a stage that must succeed before it is promoted.")
    var minDevices: UInt32 = 1

    @Option(help: "How long each stage runs before promotion: seconds, or with a unit (90s, 30m, 2h).")
    var soak = "0"

    @Option(name: .customLong("failure-threshold"),
            help: "Pause the rollout at this many failed devices (e.g. 3), or this share of finished devices (e.g. 5%).")
    var failureThreshold = "1"

    @Option(name: .customLong("min-finished"), help: "A percentage failure threshold applies once this many devices finished.")
    var minFinished: UInt32 = 1

    @Option(name: .customLong("success-percent"), help: "Share of a stage's devices that must succeed for promotion.")
    var successPercent: UInt32 = 100

    /// The request the options describe. Throws `ValidationError` naming the bad option.
    func request() throws -> Edgevlm_Fleet_V1_CreateRolloutRequest {
        var request = Edgevlm_Fleet_V1_CreateRolloutRequest()
        request.modelDigest = model
        request.targetTags = tags.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let percents = try stages.split(separator: ",").map { text -> UInt32 in
            guard let value = UInt32(text.trimmingCharacters(in: .whitespaces)), (1...100).contains(value) else {
                throw ValidationError("--stages: \"\(text)\" is not a percentage from 1 to 100")
            }
            return value
        }
        guard let last = percents.last, last == 100, zip(percents, percents.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw ValidationError("--stages must rise and end at 100 (e.g. 1,10,50,100), not \(stages)")
        }
        let soakSeconds = try Self.seconds(soak)
        request.stages = percents.map { percent in
            var stage = Edgevlm_Fleet_V1_RolloutStage()
            stage.percent = percent
            stage.minDevices = minDevices
            stage.soakSeconds = soakSeconds
            return stage
        }
        guard (1...100).contains(successPercent) else { throw ValidationError("--success-percent must be 1 to 100") }
        var policy = Edgevlm_Fleet_V1_RolloutPolicy()
        policy.successPercent = successPercent
        let threshold = failureThreshold.trimmingCharacters(in: .whitespaces)
        if threshold.hasSuffix("%") {
            guard let percent = UInt32(threshold.dropLast()), (1...100).contains(percent) else {
                throw ValidationError("--failure-threshold: \"\(failureThreshold)\" is not a share from 1% to 100%")
            }
            policy.maxFailurePercent = percent
            policy.minFinishedForFailurePercent = minFinished
        } else {
            guard let count = UInt32(threshold), count >= 1 else {
                throw ValidationError("--failure-threshold: \"\(failureThreshold)\" must be a device count (3) or a share (5%)")
            }
            policy.maxFailures = count
        }
        request.policy = policy
        return request
    }

    /// "90", "90s", "30m", "2h" → seconds.
    static func seconds(_ text: String) throws -> UInt32 {
        let units: [Character: UInt32] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var digits = Substring(text.trimmingCharacters(in: .whitespaces))
        var unit: UInt32 = 1
        if let last = digits.last, let factor = units[last] {
            unit = factor
            digits = digits.dropLast()
        }
        guard let value = UInt32(digits), value.multipliedReportingOverflow(by: unit).overflow == false else {
            throw ValidationError("--soak: \"\(text)\" is not a duration (seconds, or 90s, 30m, 2h)")
        }
        return value * unit
    }

    func validate() throws {
        guard !model.isEmpty else { throw ValidationError("--model must name a registered model digest") }
        _ = try request()
    }

    func run() async throws {
        let request = try request()
        let rollout = try await connection.withOperator { client, metadata in
            try await client.createRollout(request, metadata: metadata)
        }
        print(try rollout.jsonString())
    }
}

/// `rollouts list`: every rollout, one JSON object per line.
struct RolloutsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List rollouts (JSON lines).")

    @OptionGroup var connection: OperatorConnection

    func run() async throws {
        let response = try await connection.withOperator { client, metadata in
            try await client.listRollouts(Edgevlm_Fleet_V1_ListRolloutsRequest(), metadata: metadata)
        }
        for rollout in response.rollouts { print(try rollout.jsonString()) }
    }
}

/// `rollouts show ID`: one rollout with its per-device states, as one JSON object.
struct RolloutsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a rollout and its devices (JSON).")

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

/// What `pause`, `resume`, `abort` and `rollback` do.
enum RolloutAction: String, Sendable {
    case pause, resume, abort, rollback

    /// Sends the action; returns the rollout as it is afterwards. Throws the coordinator's gRPC
    /// error (e.g. `failedPrecondition` when the rollout's phase does not allow it).
    func perform(_ connection: OperatorConnection, id: String, reason: String) async throws -> Edgevlm_Fleet_V1_Rollout {
        var request = Edgevlm_Fleet_V1_RolloutActionRequest()
        request.rolloutID = id
        request.reason = reason
        return try await connection.withOperator { client, metadata in
            switch self {
            case .pause: return try await client.pauseRollout(request, metadata: metadata)
            case .resume: return try await client.resumeRollout(request, metadata: metadata)
            case .abort: return try await client.abortRollout(request, metadata: metadata)
            case .rollback: return try await client.rollbackRollout(request, metadata: metadata)
            }
        }
    }
}

/// The arguments every rollout action takes.
struct RolloutActionArguments: ParsableArguments {
    @OptionGroup var connection: OperatorConnection

    @Argument(help: "Rollout id.")
    var id: String

    @Option(help: "Why (recorded in the rollout and the audit log).")
    var reason = ""

    func run(_ action: RolloutAction) async throws {
        print(try await action.perform(connection, id: id, reason: reason).jsonString())
    }
}

/// `rollouts pause ID`: no more devices are assigned until `resume`.
struct RolloutsPauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Pause a running rollout.")
    @OptionGroup var arguments: RolloutActionArguments
    func run() async throws { try await arguments.run(.pause) }
}

/// `rollouts resume ID`: a paused rollout goes on from its current stage.
struct RolloutsResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume a paused rollout.")
    @OptionGroup var arguments: RolloutActionArguments
    func run() async throws { try await arguments.run(.resume) }
}

/// `rollouts abort ID`: stops the rollout for good; devices keep the model they have.
struct RolloutsAbortCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "abort", abstract: "Abort a rollout (devices keep their model).")
    @OptionGroup var arguments: RolloutActionArguments
    func run() async throws { try await arguments.run(.abort) }
}

/// `rollouts rollback ID`: stops the rollout and sends its devices back to the previous model.
struct RolloutsRollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rollback", abstract: "Roll back: devices return to the previous model.")
    @OptionGroup var arguments: RolloutActionArguments
    func run() async throws { try await arguments.run(.rollback) }
}
