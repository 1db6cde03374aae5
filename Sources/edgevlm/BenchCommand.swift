import ArgumentParser

/// `edgevlm bench …`: micro-benchmarks of the runtime's building blocks.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure kernel and vision-encoder throughput on this machine.",
        subcommands: [BenchKernelsCommand.self, BenchVisionCommand.self]
    )
}
