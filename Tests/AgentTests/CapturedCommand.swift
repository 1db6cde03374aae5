import Foundation

/// Runs a command to its end and returns its exit status and combined output. The output goes
/// through a temporary file, not a pipe: a process another test spawns meanwhile (a coordinator,
/// an agent) may inherit the pipe's write end and keep a read to EOF waiting for as long as it runs.
func runCapturingOutput(_ executable: String, _ arguments: [String],
                        environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("edgevlm-cmd-\(UUID().uuidString).log")
    FileManager.default.createFile(atPath: log.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: log) }
    let output = try FileHandle(forWritingTo: log)
    process.standardOutput = output
    process.standardError = output
    try process.run()
    process.waitUntilExit()
    try? output.close()
    return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
}
