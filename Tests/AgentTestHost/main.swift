// edgevlm-agent-testhost: the real Agent services with a deterministic caption engine, for the
// reliability tests (kill -9 cycles, disk full, bad images). Not shipped; no inference here.
//
//   edgevlm-agent-testhost CONFIG.toml [DELAY_MS]
import Agent
import JobQueue
import Crypto
import Foundation
import Logging

/// Caption = SHA-256 of (image bytes ‖ prompt), after a configurable delay so a kill -9 can land
/// mid-inference. Images whose first bytes are neither JPEG nor PNG fail as bad input.
/// `modelDigest` is the model store's active manifest digest when it has one. Fault injection:
/// when that digest is listed in `EDGEVLM_TESTHOST_FAILING_MODELS` (comma-separated), every
/// job fails as a transient engine failure (a model that passed its checks but fails on the device).
struct DeterministicCaptionEngine: CaptionEngine {
    let delay: Duration
    var modelDigest: String = "testhost-deterministic-v1"
    var failsEveryJob = false

    func caption(image: Data, prompt: String) async throws -> CaptionResult {
        let jpeg = image.count > 3 && image.prefix(3) == Data([0xff, 0xd8, 0xff])
        let png = image.count > 8 && image.prefix(8) == Data([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
        guard jpeg || png else { throw CaptionFailure.badInput("the image is neither JPEG nor PNG") }
        try await Task.sleep(for: delay)
        if failsEveryJob { throw CaptionFailure.transient("testhost fault injection: model \(modelDigest) fails every job") }
        var hasher = SHA256()
        hasher.update(data: image)
        hasher.update(data: Data(prompt.utf8))
        let hex = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        return CaptionResult(text: "sha256:\(hex)", tokens: 8, timings: ["generate": delay.seconds], placement: "testhost")
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

let arguments = CommandLine.arguments
if arguments.count >= 4 && arguments[1] == "--bench-queue" {
    // edgevlm-agent-testhost --bench-queue N DIRECTORY: queue throughput vs raw SQLite inserts.
    do {
        try QueueBenchmark(count: Int(arguments[2]) ?? 1000, directory: arguments[3]).run()
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("bench: \(error)\n".utf8))
        exit(1)
    }
}
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: edgevlm-agent-testhost CONFIG.toml [DELAY_MS]\n".utf8))
    exit(2)
}
let delayMilliseconds = arguments.count >= 3 ? Int(arguments[2]) ?? 0 : 0
LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
var logger = Logger(label: "edgevlm-agent-testhost")
logger.logLevel = ProcessInfo.processInfo.environment["EDGEVLM_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .notice
do {
    let configuration = try AgentConfiguration.load(path: arguments[1])
    let environment = ProcessInfo.processInfo.environment
    let daemon = AgentDaemon(configuration: configuration,
                             notifier: SystemdNotifier(notifySocket: environment["NOTIFY_SOCKET"],
                                                       watchdogMicroseconds: environment["WATCHDOG_USEC"]),
                             stopGraceSeconds: 2, logger: logger)
    let hostLogger = logger
    try await daemon.run {
        // Read after the daemon's lock and store recovery, as the real agent does.
        var engine = DeterministicCaptionEngine(delay: .milliseconds(delayMilliseconds))
        if let active = (try? ModelStore(root: configuration.modelsDirectory))?.activeModel() {
            engine.modelDigest = active.record.modelDigest
            let failing = (environment["EDGEVLM_TESTHOST_FAILING_MODELS"] ?? "").split(separator: ",").map(String.init)
            engine.failsEveryJob = failing.contains(active.record.modelDigest)
        }
        hostLogger.notice("testhost engine", metadata: ["model": "\(engine.modelDigest)", "fails_every_job": "\(engine.failsEveryJob)"])
        return engine
    }
} catch {
    FileHandle.standardError.write(Data("edgevlm-agent-testhost: \(error)\n".utf8))
    exit(1)
}
