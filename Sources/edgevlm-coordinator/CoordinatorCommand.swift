import ArgumentParser

/// `edgevlm-coordinator`: the fleet coordinator server (issue 8).
@main
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgevlm-coordinator",
        abstract: "The EdgeVLM fleet coordinator: device registry, results, model rollouts.",
        version: "0.1.0",
        subcommands: [ServeCommand.self, EnrollmentTokenCommand.self, DevicesCommand.self, ResultsCommand.self,
                      ModelsCommand.self,
                      RolloutsCommand.self]
    )
}
