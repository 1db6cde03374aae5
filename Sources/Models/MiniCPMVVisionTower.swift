import Backends
import GGUF
import Kernels

/// A loaded MiniCPM-V vision projector (`mmproj` GGUF): SigLIP encoder + resampler. Turns one
/// preprocessed slice into `queryCount` embedding rows of the LLM's width. Weights stay
/// memory-mapped; the tower holds the file open.
public final class MiniCPMVVisionTower: @unchecked Sendable {
    public let configuration: MiniCPMVProjectorConfiguration
    public let file: GGUFFile
    let encoder: SigLIPVisionEncoder
    let resampler: MiniCPMVResampler
    /// Tensors in the file that neither part uses (reported, not an error).
    public let unusedTensors: [String]
    /// Where the stages (`visionEncoder`, `resampler`) and their fine ops run.
    public let router: OpRouter
    private let encoderWeights: [TensorDescriptor]
    private let resamplerWeights: [TensorDescriptor]

    /// Opens and binds `path`.
    /// - Throws: ``ModelsError`` naming the file and the key or tensor that is wrong.
    public convenience init(path: String, pool: ThreadPool, router: OpRouter = .cpuOnly) throws(ModelsError) {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch let error as GGUFError { throw .gguf(error) } catch {
            throw .unsupportedProjector(file: path, detail: "\(error)")
        }
        try self.init(file: file, pool: pool, router: router)
    }

    /// Binds an already opened mmproj file.
    public init(file: GGUFFile, pool: ThreadPool, router: OpRouter = .cpuOnly) throws(ModelsError) {
        self.file = file
        self.router = router
        encoderWeights = OpRouter.descriptors(withPrefix: "v.", in: file)
        resamplerWeights = OpRouter.descriptors(withPrefix: "resampler.", in: file)
        let configuration = try MiniCPMVProjectorConfiguration(file: file)
        self.configuration = configuration
        var binder = TensorBinder(file: file)
        encoder = try SigLIPVisionEncoder(binder: &binder, configuration: configuration)
        resampler = try MiniCPMVResampler(binder: &binder, configuration: configuration, pool: pool)
        unusedTensors = binder.unusedTensors
    }

    /// Checks that this projector feeds a language model of embedding width `modelWidth`.
    public func checkCompatible(modelWidth: Int, modelPath: String) throws(ModelsError) {
        guard configuration.embeddingWidth == modelWidth else {
            throw .projectorWidthMismatch(mmproj: file.path, projectorWidth: configuration.embeddingWidth,
                                          model: modelPath, modelWidth: modelWidth)
        }
    }

    /// The ViT features of one slice (`(h/p)·(w/p) × width`), for tests and profiling.
    public func encoderFeatures(pixels: UnsafePointer<Float>, height: Int, width: Int,
                                gelu: SigLIPVisionEncoder.GELUVariant = .exact, pool: ThreadPool) throws(ModelsError) -> [Float] {
        var timings = VisionTimings()
        return try features(pixels: pixels, height: height, width: width, gelu: gelu, pool: pool, timings: &timings)
    }

    /// Embeds one slice: `pixels` is planar normalised RGB `[3][height][width]` with sides that
    /// are multiples of the patch size. Returns `queryCount × embeddingWidth` floats, row-major.
    public func embed(pixels: UnsafePointer<Float>, height: Int, width: Int,
                      gelu: SigLIPVisionEncoder.GELUVariant = .exact, pool: ThreadPool,
                      timings: inout VisionTimings) throws(ModelsError) -> [Float] {
        let features = try features(pixels: pixels, height: height, width: width, gelu: gelu, pool: pool, timings: &timings)
        let c = configuration
        let p = c.patchSize
        let n = (height / p) * (width / p)
        var clock = StageClock()
        var result = [Float](repeating: 0, count: c.queryCount * c.embeddingWidth)
        do {
            try features.withUnsafeBufferPointer { f in
                try result.withUnsafeMutableBufferPointer { r in
                    guard let input = f.baseAddress, let output = r.baseAddress else { return }
                    try router.run(
                        kind: .resampler, label: "resampler",
                        describe: {
                            OpDescriptor(kind: .resampler, label: "resampler",
                                         inputs: [TensorDescriptor(name: "features", type: .f32, shape: [n, c.width])],
                                         weights: resamplerWeights,
                                         outputs: [TensorDescriptor(name: "embeddings", type: .f32, shape: [c.queryCount, c.embeddingWidth])],
                                         eps: c.layerNormEpsilon, heads: c.resamplerHeadCount, kvHeads: c.resamplerHeadCount)
                        },
                        inputs: [HostTensor(shape: [n, c.width], data: UnsafeMutableRawPointer(mutating: input))],
                        outputs: [HostTensor(shape: [c.queryCount, c.embeddingWidth], data: UnsafeMutableRawPointer(output))]) {
                        try resampler.compress(features: input, gridRows: height / p, gridColumns: width / p,
                                               result: output, pool: pool, router: router)
                    }
                }
            }
        } catch { throw Self.modelsError(error) }
        timings.resampler += clock.lap()
        return result
    }

    private func features(pixels: UnsafePointer<Float>, height: Int, width: Int,
                          gelu: SigLIPVisionEncoder.GELUVariant, pool: ThreadPool,
                          timings: inout VisionTimings) throws(ModelsError) -> [Float] {
        let c = configuration
        let p = c.patchSize
        guard height >= p, width >= p, height % p == 0, width % p == 0 else {
            throw .invalidImageSlice(detail: "\(width)×\(height) pixels is not a positive multiple of the \(p)-pixel patch")
        }
        let n = (height / p) * (width / p)
        var features = [Float](repeating: 0, count: n * c.width)
        var stageTimings = VisionTimings()
        do {
            try features.withUnsafeMutableBufferPointer { out in
                guard let base = out.baseAddress else { return }
                try router.run(
                    kind: .visionEncoder, label: "vision_encoder",
                    describe: {
                        OpDescriptor(kind: .visionEncoder, label: "vision_encoder",
                                     inputs: [TensorDescriptor(name: "pixels", type: .f32, shape: [3, height, width])],
                                     weights: encoderWeights,
                                     outputs: [TensorDescriptor(name: "features", type: .f32, shape: [n, c.width])],
                                     eps: c.layerNormEpsilon, geluVariant: gelu == .exact ? .tanh : .ggml,
                                     heads: c.headCount, kvHeads: c.headCount, patchSize: p)
                    },
                    inputs: [HostTensor(shape: [3, height, width], data: UnsafeMutableRawPointer(mutating: pixels))],
                    outputs: [HostTensor(shape: [n, c.width], data: UnsafeMutableRawPointer(base))]) {
                    try encoder.encode(pixels: pixels, height: height, width: width, gelu: gelu, output: base,
                                       pool: pool, router: router, timings: &stageTimings)
                }
            }
        } catch { throw Self.modelsError(error) }
        timings.patchEmbedding += stageTimings.patchEmbedding
        timings.attention += stageTimings.attention
        timings.mlp += stageTimings.mlp
        return features
    }

    /// Errors from the stage closures keep their type when they are the model's own.
    private static func modelsError(_ error: any Error) -> ModelsError {
        if let error = error as? ModelsError { return error }
        return .backend(op: "vision", detail: "\(error)")
    }
}
