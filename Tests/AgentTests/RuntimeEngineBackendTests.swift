import Foundation
import ReferenceDelegateBuilder
import Testing
@testable import Agent

/// The production engine on the bundled demo model with an accelerator delegate: a delegate
/// that starts failing never fails the job, and its counters reach what heartbeats report.
@Suite("Runtime engine with a delegate")
struct RuntimeEngineBackendTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func engine(backends: [String]) throws -> RuntimeCaptionEngine {
        var model = AgentConfiguration.Model()
        model.llm = root.appendingPathComponent("models/demo/edgevlm-demo-F16.gguf").path
        model.mmproj = root.appendingPathComponent("models/demo/mmproj-edgevlm-demo-F16.gguf").path
        model.threads = 1
        model.maxTokens = 16
        model.backends = backends
        return try RuntimeCaptionEngine(configuration: model)
    }

    static let image = try? Data(contentsOf: root.appendingPathComponent("Tests/RuntimeTests/Fixtures/vision-goldens/small.png"))

    @Test func failingDelegateKeepsTheCaptionAndIsReported() async throws {
        let png = try #require(Self.image)
        let cpu = try await Self.engine(backends: ["cpu"]).caption(image: png, prompt: "Describe the image.")
        let library = try ReferenceDelegateLibrary.paths().good
        let engine = try Self.engine(backends: ["delegate:\(library),fail_after=10"])
        let offloaded = try await engine.caption(image: png, prompt: "Describe the image.")
        #expect(offloaded.text == cpu.text && !cpu.text.isEmpty)
        #expect(offloaded.placement.contains("matmul: ") && offloaded.placement.contains("reference"))
        let health = try #require(engine.backendHealth().first)
        #expect(health.name == "reference" && !health.healthy && health.fallbacks > 0)
        #expect(health.lastError.contains("injected failure"))
        #expect(try Self.engine(backends: ["cpu"]).backendHealth().isEmpty)
    }

    @Test func unloadableDelegateIsAnEngineError() {
        #expect {
            _ = try Self.engine(backends: ["delegate:/nonexistent/libnpu.so"])
        } throws: { error in
            (error as? AgentError)?.kind == .engineUnavailable && "\(error)".contains("/nonexistent/libnpu.so")
        }
    }
}
