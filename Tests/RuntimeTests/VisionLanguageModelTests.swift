import Foundation
import Imaging
import Kernels
import Models
import Testing
@testable import Runtime

/// Image prompts end to end on the tiny random-weight files (tools/testdata/llm.py and
/// tools/testdata/vision.py): the prompt layout, the embedding splice, and bad input.
@Suite struct VisionLanguageModelTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".testdata")
    static let llm = root.appendingPathComponent("llm/tiny-qwen2-f16.gguf").path
    static let mmproj = root.appendingPathComponent("vision/mmproj-tiny256-f16.gguf").path
    static let narrowMMProj = root.appendingPathComponent("vision/mmproj-tiny-f16.gguf").path

    static func model() throws -> VisionLanguageModel {
        for path in [llm, mmproj] where !FileManager.default.fileExists(atPath: path) {
            Issue.record("missing \(path): run scripts/gen-testdata.sh")
        }
        return try VisionLanguageModel(modelPath: llm, mmprojPath: mmproj, options: LanguageModelOptions(threadCount: 2))
    }

    /// A deterministic test image with structure (gradients and a block).
    static func image(width: Int, height: Int) throws -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * 3
                pixels[i] = UInt8((x * 255) / max(width - 1, 1))
                pixels[i + 1] = UInt8((y * 255) / max(height - 1, 1))
                pixels[i + 2] = (x / 7 + y / 5) % 2 == 0 ? 200 : 30
            }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    @Test func splicedEmbeddingsBehaveLikeTheTokensTheyEmbed() throws {
        // Feeding a token's own embedding row as an "image" must give exactly what the token gives.
        let model = try Self.model()
        let language = model.language
        let prompt = language.promptTokens("Describe the picture.", raw: false)
        let middle = prompt.count / 2
        let spliced = try language.decoder.embed(Array(prompt[middle..<(middle + 3)]))
        let options = GenerationOptions(maxTokens: 12, reusePrefix: false)
        let byTokens = try language.generate(tokens: prompt, options: options)
        let byChunks = try language.generate(chunks: [
            .tokens(Array(prompt[..<middle])), .embeddings(spliced, rows: 3), .tokens(Array(prompt[(middle + 3)...])),
        ], options: options)
        #expect(byChunks.tokens == byTokens.tokens)
        #expect(byChunks.text == byTokens.text)
    }

    @Test func layoutOfAGridIn26AndIn25() throws {
        let model = try Self.model()
        let tokenizer = model.language.tokenizer
        let l26 = try MiniCPMVPromptLayout(projectorVersion: 3, tokenizer: tokenizer, file: "t")
        let l25 = try MiniCPMVPromptLayout(projectorVersion: 2, tokenizer: tokenizer, file: "t")
        let q = 2, w = 4
        let block = [Float](repeating: 0.5, count: q * w)
        let grid = SliceGrid(columns: 2, rows: 2)
        func render(_ chunks: [PromptChunk]) -> String {
            chunks.map { chunk -> String in
                switch chunk {
                case let .tokens(t): tokenizer.detokenize(t, unparseSpecial: true)
                case let .embeddings(_, rows): "{\(rows)}"
                }
            }.joined()
        }
        let c26 = l26.chunks(overview: block, slices: Array(repeating: block, count: 4), grid: grid, queryCount: q)
        #expect(render(c26) == "<image>{2}</image><slice>{2}</slice><slice>{2}</slice>\n<slice>{2}</slice><slice>{2}</slice>")
        let c25 = l25.chunks(overview: block, slices: Array(repeating: block, count: 4), grid: grid, queryCount: q)
        #expect(render(c25) == "<image>{2}</image><slice><image>{2}</image><image>{2}</image>\n<image>{2}</image><image>{2}</image></slice>")
        #expect(render(l26.chunks(overview: block, slices: [], grid: nil, queryCount: q)) == "<image>{2}</image>")
    }

    @Test func captionReportsSlicesTokensAndTimings() throws {
        let model = try Self.model()
        let c = model.vision.configuration
        let image = try Self.image(width: 3 * c.imageSize, height: c.imageSize + 7)
        let result = try model.caption(images: [image], prompt: "What is in the image?",
                                       options: CaptionOptions(generation: GenerationOptions(maxTokens: 6)))
        let slicing = try #require(result.slicing.first)
        let grid = try #require(slicing.grid)
        #expect(slicing.sizes.count == 1 + grid[0] * grid[1])
        #expect(result.encodeSeconds.count == slicing.sizes.count)
        // (Q+2) per encoder input plus one "\n" between slice rows (2.6 layout).
        #expect(result.imageTokens == (c.queryCount + 2) * slicing.sizes.count + (grid[1] - 1))
        #expect(result.tokens.count == 6)
        // Greedy is deterministic: the same request gives the same answer.
        let again = try model.caption(images: [image], prompt: "What is in the image?",
                                      options: CaptionOptions(generation: GenerationOptions(maxTokens: 6)))
        #expect(again.tokens == result.tokens)
    }

    @Test(arguments: [2, 3])
    func slicesSideBySideGiveTheSameEmbeddings(threads: Int) throws {
        // Lanes (one slice per thread, the remainder on all threads) must not change a bit of
        // the result compared with slices one after another on one thread.
        let model = try Self.model()
        let c = model.vision.configuration
        let image = try Self.image(width: 3 * c.imageSize, height: c.imageSize + 7)
        let serial = try ImageEncoder(vision: model.vision, pool: ThreadPool(threadCount: 1), sliceLanes: false)
            .encode(image, mode: .reference, source: "test")
        let laned = try ImageEncoder(vision: model.vision, pool: ThreadPool(threadCount: threads), sliceLanes: true)
            .encode(image, mode: .reference, source: "test")
        #expect(serial.sizes.count >= 3)
        #expect(laned.sizes == serial.sizes)
        #expect(laned.secondsPerSlice.count == serial.sizes.count)
        #expect(laned.embeddings == serial.embeddings)
        #expect(laned.wallSeconds > 0 && laned.wallSeconds <= laned.secondsPerSlice.reduce(0, +) + 0.5)
    }

    @Test func badInputGivesClearErrors() throws {
        let model = try Self.model()
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("garbage-\(getpid()).jpg")
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).write(to: garbage)
        defer { try? FileManager.default.removeItem(at: garbage) }
        #expect(throws: RuntimeError.self) { try model.caption(imagePaths: [garbage.path], prompt: "Describe.") }
        #expect(throws: RuntimeError.self) { try model.caption(imagePaths: ["/nonexistent.png"], prompt: "Describe.") }
        // An mmproj whose width (128) does not match the LLM's (256) is refused with both numbers.
        do {
            _ = try VisionLanguageModel(modelPath: Self.llm, mmprojPath: Self.narrowMMProj)
            Issue.record("a mismatched projector was accepted")
        } catch let error as RuntimeError {
            #expect(error.description.contains("128") && error.description.contains("256"))
        }
        // The LLM file given as the projector.
        #expect(throws: RuntimeError.self) { try VisionLanguageModel(modelPath: Self.llm, mmprojPath: Self.llm) }
    }
}
