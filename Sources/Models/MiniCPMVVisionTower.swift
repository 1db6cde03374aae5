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

    /// Opens and binds `path`.
    /// - Throws: ``ModelsError`` naming the file and the key or tensor that is wrong.
    public convenience init(path: String, pool: ThreadPool) throws(ModelsError) {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch let error as GGUFError { throw .gguf(error) } catch {
            throw .unsupportedProjector(file: path, detail: "\(error)")
        }
        try self.init(file: file, pool: pool)
    }

    /// Binds an already opened mmproj file.
    public init(file: GGUFFile, pool: ThreadPool) throws(ModelsError) {
        self.file = file
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
        var clock = StageClock()
        var result = [Float](repeating: 0, count: c.queryCount * c.embeddingWidth)
        try features.withUnsafeBufferPointer { f throws(ModelsError) in
            try result.withUnsafeMutableBufferPointer { r throws(ModelsError) in
                guard let input = f.baseAddress, let output = r.baseAddress else { return }
                try resampler.compress(features: input, gridRows: height / p, gridColumns: width / p,
                                       result: output, pool: pool)
            }
        }
        timings.resampler += clock.lap()
        return result
    }

    private func features(pixels: UnsafePointer<Float>, height: Int, width: Int,
                          gelu: SigLIPVisionEncoder.GELUVariant, pool: ThreadPool,
                          timings: inout VisionTimings) throws(ModelsError) -> [Float] {
        let p = configuration.patchSize
        guard height >= p, width >= p, height % p == 0, width % p == 0 else {
            throw .invalidImageSlice(detail: "\(width)×\(height) pixels is not a positive multiple of the \(p)-pixel patch")
        }
        let n = (height / p) * (width / p)
        var features = [Float](repeating: 0, count: n * configuration.width)
        try features.withUnsafeMutableBufferPointer { out throws(ModelsError) in
            guard let base = out.baseAddress else { return }
            try encoder.encode(pixels: pixels, height: height, width: width, gelu: gelu, output: base,
                               pool: pool, timings: &timings)
        }
        return features
    }
}
