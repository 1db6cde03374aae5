import ArgumentParser
import Foundation
import Kernels

/// `edgevlm`: the device-side command line (runtime, agent, local tools).
@main
struct EdgeVLMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgevlm",
        abstract: "Run MiniCPM-V on this device: inspect models, generate, caption, run the agent.",
        version: "0.1.0",
        subcommands: [
            CaptionCommand.self,
            GenerateCommand.self,
            LogitsCommand.self,
            InspectCommand.self,
            TokenizeCommand.self,
            ImagingCommand.self,
            BenchCommand.self,
            BenchGGUFCommand.self,
            BenchLLMCommand.self,
        ] + agentSubcommands
    )

    /// Before parsing: an OpenBLAS that fell back to generic kernels on this CPU gets one restart
    /// with a better core (`OpenBLASCore`); then the usual argument parsing and dispatch.
    static func main() async {
        OpenBLASCore.restartWithRecommendedCoreIfNeeded { message in
            FileHandle.standardError.write(Data("edgevlm: warning: \(message)\n".utf8))
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

#if canImport(Agent)
/// Device-agent commands; absent from EDGEVLM_RUNTIME_ONLY builds.
let agentSubcommands: [any ParsableCommand.Type] = [
    AgentCommand.self, SubmitCommand.self, JobsCommand.self, ResultCommand.self, WatchCommand.self,
    SyncStatusCommand.self,
    ModelsCommand.self,
]
#else
let agentSubcommands: [any ParsableCommand.Type] = []
#endif
