import ArgumentParser
import Foundation
import Imaging
import Runtime

/// `edgevlm caption`: answer a prompt about one or more images with a MiniCPM-V GGUF pair.
struct CaptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caption",
        abstract: "Caption an image (or answer a question about it) with a MiniCPM-V LLM + mmproj GGUF pair.")

    @Option(name: .shortAndLong, help: "Path of the GGUF language model.")
    var model: String

    @Option(help: "Path of the mmproj (vision projector) GGUF.")
    var mmproj: String

    @Option(name: .shortAndLong, help: "Image file (JPEG or PNG); repeat for several images.")
    var image: [String]

    @Option(name: .shortAndLong, help: "Prompt text.")
    var prompt: String = "Describe the image."

    @Option(name: .customLong("max-tokens"), help: "Maximum tokens to generate.")
    var maxTokens: Int = 128

    @Option(help: "Temperature; 0 is greedy. A positive value samples with MiniCPM-V's defaults (top-p 0.8, top-k 100, repetition penalty 1.05).")
    var temp: Float = 0

    @Option(help: "Random seed for sampling.")
    var seed: UInt64 = 0

    @Option(help: "Threads.")
    var threads: Int = 1

    @Option(help: "Context length (KV cache positions); default min(training context, 4096).")
    var context: Int?

    @Option(help: "Compatibility mode: 'reference' (the official processor, default) or 'llamacpp' (llama.cpp's slicing, prompt layout and GELU, for side-by-side checks).")
    var compat: String = "reference"

    @Option(name: .customLong("max-image-pixels"), help: "Refuse images with more pixels than this (decompression bombs).")
    var maxImagePixels: Int = 89_478_485

    @Flag(help: "Print one JSON object (text, tokens, slices, image_tokens, timings, placement, backends) instead of streaming text.")
    var json = false

    @Option(name: .customLong("backend"), help: ArgumentHelp(
        "Backend in priority order: 'cpu' or 'delegate:/path/lib.so[,key=value...]'; repeat for several. The CPU always comes last and takes what no accelerator claims.",
        valueName: "backend"))
    var backends: [String] = ["cpu"]

    @Flag(help: "Print per-op time and placement (stderr, or 'profile' in --json).")
    var profile = false

    @Flag(name: .customLong("sequential-slices"), help: "Encode slices one after another on all threads instead of side by side (less memory; same results).")
    var sequentialSlices = false

    func validate() throws {
        guard ["reference", "llamacpp"].contains(compat) else {
            throw ValidationError("--compat must be 'reference' or 'llamacpp', not '\(compat)'")
        }
        guard !image.isEmpty else { throw ValidationError("give at least one --image") }
    }

    func run() throws {
        let model = try VisionLanguageModel(modelPath: self.model, mmprojPath: mmproj,
                                            options: LanguageModelOptions(threadCount: threads, contextLength: context,
                                                                          backends: backends, profile: profile,
                                                                          sliceLanes: !sequentialSlices))
        var sampling = SamplingParameters.greedy
        if temp > 0 {
            sampling = .sampled(seed: seed)
            sampling.temperature = temp
        }
        let options = CaptionOptions(
            compatibility: compat == "llamacpp" ? .llamaCpp : .reference,
            generation: GenerationOptions(maxTokens: maxTokens, sampling: sampling),
            decoding: ImageDecodingOptions(maxPixelCount: maxImagePixels))
        let result = try model.caption(imagePaths: image, prompt: prompt, options: options) { piece in
            if !json { FileHandle.standardOutput.write(Data(piece.text.utf8)) }
            return true
        }
        let g = result.generation
        let router = model.router
        if json {
            var object: [String: Any] = [
                "text": result.text, "tokens": result.tokens.map(Int.init), "stop_reason": result.stopReason.rawValue,
                "slices": result.slicing.map { s -> [String: Any] in
                    var o: [String: Any] = ["sizes": s.sizes]
                    if let grid = s.grid { o["grid"] = grid }
                    return o
                },
                "image_tokens": result.imageTokens,
                "timings": [
                    "decode_s": result.decodeSeconds, "encode_s": result.encodeSeconds, "encode_wall_s": result.encodeWallSeconds,
                    "encode_breakdown_s": ["patch_embedding": result.vision.patchEmbedding, "attention": result.vision.attention,
                                           "mlp": result.vision.mlp, "resampler": result.vision.resampler],
                    "prompt_tokens": g.promptTokens, "prefill_s": g.promptSeconds, "prompt_tps": g.promptTokensPerSecond,
                    "generated_tokens": g.generatedTokens, "generate_s": g.generateSeconds, "generate_tps": g.generatedTokensPerSecond,
                ],
            ]
            object["placement"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(router.placementReport()))
            object["backends"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(router.health()))
            if profile { object["profile"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(router.profile())) }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("")
            FileHandle.standardError.write(Data(String(
                format: "image: %d encoder inputs, %d visual positions, encode %.2f s | prompt %d tokens %.2f s | generated %d tokens, %.1f tok/s\n",
                result.encodeSeconds.count, result.imageTokens, result.encodeWallSeconds,
                g.promptTokens, g.promptSeconds, g.generatedTokens, g.generatedTokensPerSecond).utf8))
            for health in router.health() where health.fallbacks + health.bypassed > 0 {
                FileHandle.standardError.write(Data(
                    "backend \(health.backend): \(health.fallbacks) ops fell back to the CPU, \(health.bypassed) bypassed; last error: \(health.lastError ?? "-")\n".utf8))
            }
            if profile { FileHandle.standardError.write(Data(OpProfileTable.render(router.profile()).utf8)) }
        }
    }
}
