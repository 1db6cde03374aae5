import Backends
import Foundation
import Imaging
import ReferenceDelegateBuilder
import Testing
@testable import Runtime

/// The bundled demo model captioned with an accelerator delegate (the reference delegate in
/// Tests/Fixtures/ReferenceDelegate) must answer exactly as the CPU does, also when the delegate
/// fails in every way it can, and the placement and health reports must say what happened.
@Suite(.serialized) struct OffloadTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let llm = root.appendingPathComponent("models/demo/edgevlm-demo-F16.gguf").path
    static let mmproj = root.appendingPathComponent("models/demo/mmproj-edgevlm-demo-F16.gguf").path
    static let images = ["small.png", "wide.png", "large.png"].map {
        root.appendingPathComponent("Tests/RuntimeTests/Fixtures/vision-goldens/\($0)").path
    }
    static let prompt = "Describe the image."
    static let options = CaptionOptions(generation: GenerationOptions(maxTokens: 24))

    static func model(backends: [String], policy: FallbackPolicy = FallbackPolicy()) throws -> VisionLanguageModel {
        try VisionLanguageModel(modelPath: llm, mmprojPath: mmproj,
                                options: LanguageModelOptions(threadCount: 2, backends: backends, fallbackPolicy: policy))
    }

    static func captions(_ model: VisionLanguageModel) throws -> [[Int32]] {
        try images.map { try model.caption(imagePaths: [$0], prompt: prompt, options: options).tokens }
    }

    /// CPU-only answers, computed once.
    static let cpuCaptions: Result<[[Int32]], any Error> = Result { try captions(model(backends: ["cpu"])) }

    static func delegate(_ options: String = "") throws -> String {
        let path = try ReferenceDelegateLibrary.paths().good
        return "delegate:" + path + (options.isEmpty ? "" : "," + options)
    }

    @Test func cpuOnlyPlansNothing() throws {
        let model = try Self.model(backends: ["cpu"])
        _ = try model.caption(imagePaths: [Self.images[0]], prompt: Self.prompt, options: Self.options)
        #expect(!model.router.routesToAccelerators)
        #expect(model.router.placementReport().entries.isEmpty)
    }

    @Test func delegateCaptionsEqualCPUCaptions() throws {
        let model = try Self.model(backends: [try Self.delegate()])
        let cpu = try Self.cpuCaptions.get()
        #expect(cpu.allSatisfy { $0.count >= 4 })
        #expect(try Self.captions(model) == cpu)
        let report = model.router.placementReport()
        #expect(report.backends == ["reference", "cpu"])
        // The delegate claims F16 mat-mul and F32 LayerNorm, not the stages or GELU.
        for entry in report.entries {
            switch entry.kind {
            case .matMul, .layerNorm: #expect(entry.backend == "reference", "\(entry.op)")
            default:
                #expect(entry.backend == "cpu", "\(entry.op)")
                #expect(entry.declined.map(\.backend) == ["reference"])
            }
        }
        #expect(report.entries.contains { $0.op == "v.blk.0.attn_q" })
        #expect(report.entries.contains { $0.op == "blk.0.ffn_down" })
        #expect(report.entries.contains { $0.op == "vision_encoder" && $0.kind == .visionEncoder })
        let health = try #require(model.router.health().first { $0.backend == "reference" })
        #expect(health.runs > 100 && health.successes == health.runs && health.fallbacks == 0)
        let profiled = model.router.profile()
        #expect(profiled.contains { $0.op == "resampler.kv" && $0.runsByBackend["reference"] == $0.calls })
    }

    @Test(arguments: ["fail_on_call=3", "nan_on_call=7", "fail_after=20", "prepare_fail=1"])
    func failingDelegateFallsBackAndCaptionsAreUnchanged(fault: String) throws {
        let model = try Self.model(backends: [try Self.delegate(fault)],
                                   policy: FallbackPolicy(failureThreshold: 3, coolDownMilliseconds: 3_600_000))
        #expect(try Self.captions(model) == Self.cpuCaptions.get())
        let health = try #require(model.router.health().first { $0.backend == "reference" })
        switch fault {
        case "fail_on_call=3":
            #expect(health.errors == 1 && health.fallbacks == 1 && !health.unhealthy)
        case "nan_on_call=7":
            #expect(health.nonFinite == 1 && health.fallbacks == 1)
        case "fail_after=20":
            // Three consecutive failures mark it unhealthy; then everything bypasses it.
            #expect(health.successes == 20 && health.errors == 3 && health.unhealthy && health.bypassed > 0)
        default:
            // Preparation failed: placement moved every op to the CPU and says why.
            #expect(health.runs == 0)
            let entries = model.router.placementReport().entries
            #expect(!entries.isEmpty && entries.allSatisfy { $0.backend == "cpu" })
            #expect(entries.contains { $0.declined.contains { $0.reason.contains("prepare failed") } })
        }
    }

    @Test func slowDelegateIsTimedOutAndRecomputed() throws {
        let model = try Self.model(backends: [try Self.delegate("sleep_ms=30")],
                                   policy: FallbackPolicy(deadlineMilliseconds: 5, failureThreshold: 2,
                                                          coolDownMilliseconds: 3_600_000))
        #expect(try Self.captions(model) == Self.cpuCaptions.get())
        let health = try #require(model.router.health().first { $0.backend == "reference" })
        #expect(health.timeouts == 2 && health.unhealthy && health.successes == 0)
    }

    @Test func shapeBucketsPadSmallBatchesAndDeclineLargeOnes() throws {
        // Buckets of 32 rows: decode steps and the resampler's 16 queries fit (padded), a slice's
        // 144 patches do not.
        let model = try Self.model(backends: [try Self.delegate("bucket_batch=32")])
        #expect(try Self.captions(model) == Self.cpuCaptions.get())
        let entries = model.router.placementReport().entries.filter { $0.kind == .matMul }
        let padded = entries.filter { $0.backend == "reference" }
        #expect(!padded.isEmpty && padded.allSatisfy { $0.bucket == [32, 65536] })
        #expect(entries.contains { $0.op == "v.blk.0.attn_q" && $0.backend == "cpu"
            && $0.declined.first?.reason.contains("no shape bucket") == true })
    }

    @Test func unloadableDelegateIsAClearError() {
        #expect {
            _ = try Self.model(backends: ["delegate:/nonexistent/libnpu.so"])
        } throws: { error in
            "\(error)".contains("/nonexistent/libnpu.so") && "\(error)".contains("backend configuration")
        }
    }
}
