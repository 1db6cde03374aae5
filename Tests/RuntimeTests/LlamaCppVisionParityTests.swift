import Foundation
import Imaging
import Models
import Testing
@testable import Runtime

/// `--compat llamacpp` against goldens made by llama.cpp 0.3.36's mtmd on the tiny random-weight
/// pair (tools/goldens/make_vision_goldens.py): the image prompt layout, every visual token's
/// embedding (cosine similarity per row), and the greedy answer of `llama-mtmd-cli`.
@Suite struct LlamaCppVisionParityTests {
    struct Goldens: Decodable {
        struct Chunk: Decodable { let text: [Int32]?; let image_tokens: Int? }
        struct Image: Decodable {
            let width: Int, height: Int, n_embd: Int
            let layout: [Chunk]
            let mtmd_cli_output_hex: String
        }
        let llm_sha256: String, mmproj_sha256: String, prompt: String
        let images: [String: Image]
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/vision-goldens")

    static func goldens() throws -> Goldens {
        try JSONDecoder().decode(Goldens.self, from: Data(contentsOf: fixtures.appendingPathComponent("goldens.json")))
    }

    static func bytes(hex: String) throws -> [UInt8] {
        let digits = Array(hex.utf8)
        return try stride(from: 0, to: digits.count, by: 2).map { i in
            try #require(UInt8(String(decoding: digits[i..<(i + 2)], as: UTF8.self), radix: 16))
        }
    }

    static func sha256(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .split(separator: " ").first.map(String.init) ?? ""
    }

    /// The model the goldens were made from (regenerated bit-identically by scripts/gen-testdata.sh).
    static func model(_ g: Goldens) throws -> VisionLanguageModel {
        #expect(try sha256(VisionLanguageModelTests.llm) == g.llm_sha256, "tiny LLM differs from the goldens' file")
        #expect(try sha256(VisionLanguageModelTests.mmproj) == g.mmproj_sha256, "tiny mmproj differs from the goldens' file")
        return try VisionLanguageModelTests.model()
    }

    enum Position: Equatable { case token(Int32), image(Int) }

    @Test(arguments: ["small", "wide", "large"])
    func layoutAndEmbeddingsMatchMtmd(name: String) throws {
        let g = try Self.goldens()
        let golden = try #require(g.images[name])
        let model = try Self.model(g)
        let image = try ImageDecoder.decodeFile(atPath: Self.fixtures.appendingPathComponent("\(name).png").path)
        #expect(image.width == golden.width && image.height == golden.height)

        // Our chunks for a bare image marker (no template, no text), as mtmd tokenized it.
        let c = model.vision.configuration
        let slicer = MiniCPMVSlicer(configuration: MiniCPMVSlicingConfiguration(
            scaleResolution: c.imageSize, patchSize: c.patchSize, maxSliceCount: 9, mode: .llamaCpp))
        let sliced = try slicer.slice(image)
        let normalization = try PixelNormalization(mean: c.imageMean, std: c.imageStd)
        var embeddings: [[Float]] = []
        var timings = VisionTimings()
        for input in sliced.encoderInputs {
            let tensor = PixelTensor(input, normalization: normalization)
            embeddings.append(try tensor.values.withUnsafeBufferPointer { p in
                try model.vision.embed(pixels: try #require(p.baseAddress), height: tensor.height, width: tensor.width,
                                       gelu: .ggmlTable, pool: .init(threadCount: 2), timings: &timings)
            })
        }
        let chunks = model.layout.chunks(overview: embeddings[0], slices: Array(embeddings.dropFirst()),
                                         grid: sliced.plan.grid, queryCount: c.queryCount)
        var ours: [Position] = [], ourRows: [Float] = []
        for chunk in chunks {
            switch chunk {
            case let .tokens(t): ours += t.map(Position.token)
            case let .embeddings(rows, n): ours.append(.image(n)); ourRows += rows
            }
        }
        let theirs: [Position] = golden.layout.flatMap { chunk -> [Position] in
            if let t = chunk.text { return t.map(Position.token) }
            return [.image(chunk.image_tokens ?? -1)]
        }
        #expect(ours == theirs, "prompt layout of \(name)")

        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("\(name).embeddings.f32"))
        let reference = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        try #require(reference.count == ourRows.count, "embedding count of \(name)")
        let d = golden.n_embd
        var worst: Double = 1
        for row in 0..<(reference.count / d) {
            var dot = 0.0, a2 = 0.0, b2 = 0.0
            for i in (row * d)..<((row + 1) * d) {
                dot += Double(ourRows[i]) * Double(reference[i])
                a2 += Double(ourRows[i]) * Double(ourRows[i])
                b2 += Double(reference[i]) * Double(reference[i])
            }
            worst = min(worst, dot / max((a2 * b2).squareRoot(), 1e-30))
        }
        #expect(worst >= 0.999, "worst per-row cosine similarity \(worst) for \(name)")
    }

    @Test(arguments: ["small", "wide", "large"])
    func greedyAnswerMatchesMtmdCli(name: String) throws {
        let g = try Self.goldens()
        let golden = try #require(g.images[name])
        let model = try Self.model(g)
        let result = try model.caption(
            imagePaths: [Self.fixtures.appendingPathComponent("\(name).png").path], prompt: g.prompt,
            options: CaptionOptions(compatibility: .llamaCpp, generation: GenerationOptions(maxTokens: 16, reusePrefix: false)))
        // llama-mtmd-cli prints a newline before the answer, then each token's piece (special
        // pieces rendered), then a newline at the end of generation: compare the raw bytes.
        var expected = try Self.bytes(hex: golden.mtmd_cli_output_hex)
        if expected.first == 0x0A { expected.removeFirst() }
        while expected.last == 0x0A { expected.removeLast() }
        let tokenizer = model.language.tokenizer
        var ours = result.tokens.filter { !tokenizer.isEndOfGeneration($0) }.flatMap { tokenizer.piece(for: $0, special: true) }
        while ours.last == 0x0A { ours.removeLast() }
        #expect(ours == expected, "answer for \(name): \(String(decoding: ours, as: UTF8.self)) vs \(String(decoding: expected, as: UTF8.self))")
    }
}
