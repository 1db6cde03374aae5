#if canImport(Agent)
import Agent
import ArgumentParser
import Foundation

/// `edgevlm sync-status`: the running agent's sync state (`GET /v1/sync`).
struct SyncStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync-status",
        abstract: "Show the agent's sync state: enrolled device id, last successful sync, outbox backlog, last error.")

    @OptionGroup var options: AgentSocketOptions

    func run() throws {
        try printOrFail(try options.client.request("GET", "/v1/sync"))
    }
}
#endif
