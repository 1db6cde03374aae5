#if canImport(Agent)
import Agent
import ArgumentParser
import Foundation
import Logging

/// `edgevlm agent`: runs the device agent (the systemd service).
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the device agent: job queue, inbox and camera sources, worker, local API.")

    @Option(name: .long, help: "Configuration file (TOML).")
    var config: String = AgentConfiguration.defaultPath

    @Flag(name: .long, help: "Only check the configuration file and exit.")
    var checkConfig = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        let configuration = try AgentConfiguration.load(path: config)
        if checkConfig {
            print("configuration OK: \(config)")
            return
        }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "edgevlm-agent")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let environment = ProcessInfo.processInfo.environment
        let daemon = AgentDaemon(configuration: configuration,
                                 notifier: SystemdNotifier(notifySocket: environment["NOTIFY_SOCKET"],
                                                           watchdogMicroseconds: environment["WATCHDOG_USEC"]),
                                 agentVersion: EdgeVLMCommand.configuration.version, logger: logger)
        try await daemon.run {
            // The store's active slot when a model update installed one, else the [model] paths
            // (read after the daemon's lock and store recovery).
            let model = ModelUpdateSetup.runningModel(configuration)
            guard !model.llm.isEmpty, !model.mmproj.isEmpty else {
                throw AgentError(.engineUnavailable, "no model is configured: set [model] llm and mmproj to the GGUF files",
                                 key: "model.llm", path: config)
            }
            return try RuntimeCaptionEngine(configuration: model)
        }
    }
}

/// Options shared by the commands that talk to a running agent.
struct AgentSocketOptions: ParsableArguments {
    @Option(name: .long, help: "The agent's API socket.")
    var socket: String = "/run/edgevlm/agent.sock"

    var client: LocalAPIClient { LocalAPIClient(socketPath: socket) }
}

/// Prints a response body, or fails with the server's message.
func printOrFail(_ response: LocalAPIClient.Response) throws {
    guard (200..<300).contains(response.status) else {
        throw ValidationError("agent answered HTTP \(response.status): \(response.text)")
    }
    print(response.text)
}

/// `edgevlm submit IMAGE`: enqueue an image with the running agent.
struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "submit", abstract: "Submit an image to the running agent.")

    @OptionGroup var options: AgentSocketOptions
    @Argument(help: "Image file.") var image: String
    @Option(name: .long, help: "Prompt (default: the agent's).") var prompt: String?
    @Option(name: .long, help: "Idempotency key (default: SHA-256 of image, prompt and model).") var idempotencyKey: String?
    @Option(name: .long, help: "Priority; higher runs first.") var priority: Int = 0
    @Flag(name: .long, help: "Send the bytes instead of the path (when the agent cannot read the file).") var upload = false

    func run() throws {
        let request: LocalAPISubmitRequest
        if upload {
            guard let data = FileManager.default.contents(atPath: image) else { throw ValidationError("cannot read \(image)") }
            request = LocalAPISubmitRequest(imageBase64: data.base64EncodedString(), prompt: prompt, idempotencyKey: idempotencyKey,
                                            priority: priority)
        } else {
            let absolute = URL(fileURLWithPath: image).standardizedFileURL.path
            request = LocalAPISubmitRequest(path: absolute, prompt: prompt, idempotencyKey: idempotencyKey, priority: priority)
        }
        try printOrFail(try options.client.request("POST", "/v1/jobs", body: try JSONEncoder().encode(request)))
    }
}

/// `edgevlm jobs`: list jobs.
struct JobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "jobs", abstract: "List the agent's jobs, newest first.")

    @OptionGroup var options: AgentSocketOptions
    @Option(name: .long, help: "queued, running, done, failed or dead.") var state: String?
    @Option(name: .long) var limit: Int = 50

    func run() throws {
        var path = "/v1/jobs?limit=\(limit)"
        if let state { path += "&state=\(state)" }
        try printOrFail(try options.client.request("GET", path))
    }
}

/// `edgevlm result ID` or `edgevlm result --source NAME`.
struct ResultCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "result", abstract: "Show a job and its result, or a source's latest result.")

    @OptionGroup var options: AgentSocketOptions
    @Argument(help: "Job id.") var id: Int64?
    @Option(name: .long, help: "Latest result of this source instead.") var source: String?

    func validate() throws {
        if (id == nil) == (source == nil) { throw ValidationError("give a job id or --source, not both") }
    }

    func run() throws {
        if let source {
            let escaped = source.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? source
            try printOrFail(try options.client.request("GET", "/v1/sources/\(escaped)/latest"))
        } else if let id {
            try printOrFail(try options.client.request("GET", "/v1/jobs/\(id)"))
        }
    }
}

/// `edgevlm watch`: print each finished job as it happens.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "watch", abstract: "Stream finished jobs (one JSON line each).")

    @OptionGroup var options: AgentSocketOptions
    @Option(name: .long, help: "Stop after this many events (0 = never).") var count: Int = 0

    func run() throws {
        var seen = 0
        try options.client.streamEvents { line in
            // Unbuffered, so a pipe sees each event as it happens.
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
            seen += 1
            return count == 0 || seen < count
        }
    }
}
#endif
