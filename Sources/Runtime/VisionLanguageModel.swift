import Backends
import Foundation
import Imaging
import Kernels
import Models
import Tokenizer

/// Options of one image request.
public struct CaptionOptions: Sendable {
    /// `.reference`: the official processor's slicing and prompt layout (image block, "\n",
    /// text). `.llamaCpp`: llama.cpp 0.3.36's slicing and `llama-mtmd-cli`'s layout (the image
    /// block directly before the text) and its fp16-table GELU, for side-by-side checks.
    public var compatibility: MiniCPMVSlicingMode
    public var generation: GenerationOptions
    /// Wraps the request in the file's chat template (false: raw text around the image).
    public var useChatTemplate: Bool
    public var system: String?
    public var decoding: ImageDecodingOptions

    public init(compatibility: MiniCPMVSlicingMode = .reference, generation: GenerationOptions = GenerationOptions(),
                useChatTemplate: Bool = true, system: String? = nil, decoding: ImageDecodingOptions = ImageDecodingOptions()) {
        self.compatibility = compatibility
        self.generation = generation
        self.useChatTemplate = useChatTemplate
        self.system = system
        self.decoding = decoding
    }
}

/// What one image request produced, with where the time went.
public struct CaptionResult: Sendable {
    public struct Slicing: Sendable, Codable, Equatable {
        /// Columns × rows of slices, nil when the image is encoded whole.
        public var grid: [Int]?
        /// Encoder input sizes, overview first (width, height).
        public var sizes: [[Int]]
    }
    public let text: String
    public let tokens: [Int32]
    public let stopReason: StopReason
    public let slicing: [Slicing]
    /// Visual positions in the prompt (embedding rows plus marker tokens).
    public let imageTokens: Int
    public let decodeSeconds: Double
    /// Seconds per encoder input (overview first), over all images. Slices encoded side by
    /// side overlap in time; ``encodeWallSeconds`` is the elapsed time.
    public let encodeSeconds: [Double]
    /// Elapsed seconds of encoding all images.
    public let encodeWallSeconds: Double
    public let vision: VisionTimings
    public let generation: GenerationTimings
}

/// A MiniCPM-V model pair: the LLM GGUF and its `mmproj` vision projector.
public final class VisionLanguageModel: @unchecked Sendable {
    public let language: LanguageModel
    public let vision: MiniCPMVVisionTower
    public let layout: MiniCPMVPromptLayout
    /// Where the vision stages, their ops and the decoder's products run; its placement
    /// report, backend health counters and profile describe every request so far.
    public let router: OpRouter
    private let encoder: ImageEncoder
    /// Stands for an image in the rendered chat text before it is split (as llama.cpp's mtmd).
    static let mediaMarker = "<__media__>"

    /// Loads both files; the projector's output width must equal the LLM's embedding width.
    /// - Throws: ``RuntimeError`` naming the file and what is wrong.
    /// - Throws: ``RuntimeError/backend(_:)`` when `options.backends` cannot be loaded.
    public init(modelPath: String, mmprojPath: String, options: LanguageModelOptions = LanguageModelOptions()) throws {
        router = try options.makeRouter()
        language = try LanguageModel(path: modelPath, options: options, router: router)
        let pool = ThreadPool(threadCount: options.threadCount)
        do {
            vision = try MiniCPMVVisionTower(path: mmprojPath, pool: pool, router: router)
            try vision.checkCompatible(modelWidth: language.decoder.configuration.embeddingLength, modelPath: modelPath)
        } catch {
            throw RuntimeError.model(error)
        }
        layout = try MiniCPMVPromptLayout(projectorVersion: vision.configuration.version,
                                          tokenizer: language.tokenizer, file: modelPath)
        encoder = try ImageEncoder(vision: vision, pool: pool, sliceLanes: options.sliceLanes)
    }

    /// Decodes the image file at each path and answers `prompt` about them.
    public func caption(imagePaths: [String], prompt: String, options: CaptionOptions = CaptionOptions(),
                        onToken: (GeneratedToken) -> Bool = { _ in true }) throws -> CaptionResult {
        var clock = StageClock()
        var images: [RGBImage] = []
        for path in imagePaths {
            do { images.append(try ImageDecoder.decodeFile(atPath: path, options: options.decoding)) } catch {
                throw RuntimeError.image(source: path, detail: "\(error)")
            }
        }
        return try caption(images: images, prompt: prompt, options: options, decodeSeconds: clock.lap(), onToken: onToken)
    }

    /// Answers `prompt` about decoded images (one image block per image, in order).
    public func caption(images: [RGBImage], prompt: String, options: CaptionOptions = CaptionOptions(),
                        decodeSeconds: Double = 0, onToken: (GeneratedToken) -> Bool = { _ in true }) throws -> CaptionResult {
        let c = vision.configuration
        var imageChunks: [[PromptChunk]] = []
        var slicing: [CaptionResult.Slicing] = []
        var encodeSeconds: [Double] = []
        var encodeWallSeconds = 0.0
        var visionTimings = VisionTimings()
        for (index, image) in images.enumerated() {
            let encoded = try encoder.encode(image, mode: options.compatibility, source: "image \(index + 1)")
            visionTimings.add(encoded.timings)
            encodeSeconds += encoded.secondsPerSlice
            encodeWallSeconds += encoded.wallSeconds
            imageChunks.append(layout.chunks(overview: encoded.embeddings[0], slices: Array(encoded.embeddings.dropFirst()),
                                             grid: encoded.plan.grid, queryCount: c.queryCount))
            slicing.append(CaptionResult.Slicing(grid: encoded.plan.grid.map { [$0.columns, $0.rows] }, sizes: encoded.sizes))
        }

        let chunks = try promptChunks(prompt: prompt, images: imageChunks, options: options)
        let imageTokens = imageChunks.joined().reduce(0) { $0 + $1.positionCount }
        let result = try language.generate(chunks: chunks, options: options.generation, onToken: onToken)
        return CaptionResult(text: result.text, tokens: result.tokens, stopReason: result.stopReason, slicing: slicing,
                             imageTokens: imageTokens, decodeSeconds: decodeSeconds, encodeSeconds: encodeSeconds,
                             encodeWallSeconds: encodeWallSeconds,
                             vision: visionTimings, generation: result.timings)
    }

    /// The whole prompt: the chat-template text split at each image marker, image blocks between.
    func promptChunks(prompt: String, images: [[PromptChunk]], options: CaptionOptions) throws -> [PromptChunk] {
        let marker = Self.mediaMarker
        guard !prompt.contains(marker) else {
            throw RuntimeError.image(source: "prompt", detail: "the prompt contains the reserved text \(marker)")
        }
        // Reference: the image block, a newline, then the question; llama-mtmd-cli: the marker
        // directly before the question.
        let separator = options.compatibility == .reference ? "\n" : ""
        let content = String(repeating: marker, count: images.count) + (images.isEmpty ? "" : separator) + prompt
        let rendered: String
        if options.useChatTemplate, let template = language.chatTemplate {
            var messages: [ChatMessage] = []
            if let system = options.system { messages.append(ChatMessage(role: "system", content: system)) }
            messages.append(ChatMessage(role: "user", content: content))
            rendered = template.render(messages: messages, addAssistantPrompt: true)
        } else {
            rendered = content
        }
        let tokenizer = language.tokenizer
        // BOS once, at the very start, when the vocabulary adds one and the template did not.
        let bosText = tokenizer.specialTokens.bos.flatMap { tokenizer.text(of: $0) }
        var addBOS = tokenizer.addsBOS && !(bosText.map(rendered.hasPrefix) ?? false)
        var chunks: [PromptChunk] = []
        for (i, segment) in rendered.components(separatedBy: marker).enumerated() {
            let tokens = tokenizer.tokenize(segment, addSpecial: addBOS, parseSpecial: true)
            addBOS = false
            if !tokens.isEmpty { chunks.append(.tokens(tokens)) }
            if i < images.count { chunks += images[i] }
        }
        return layout.merged(chunks)
    }
}
