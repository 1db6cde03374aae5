import Foundation
import Imaging
import Kernels
import Models

/// MiniCPM-V's adaptive visual encoding of one image: slices it (overview first, then the grid
/// slices in reading order), normalises each slice and embeds it with the vision tower. Shared
/// by `VisionLanguageModel.caption` and `edgevlm bench vision`, so the benchmark times exactly
/// what captioning runs.
public struct ImageEncoder: @unchecked Sendable {
    /// One encoded image.
    public struct Encoded: Sendable {
        /// `queryCount × embeddingWidth` floats per slice, overview first.
        public var embeddings: [[Float]]
        public var plan: MiniCPMVSlicePlan
        /// (width, height) of every encoder input, overview first.
        public var sizes: [[Int]]
        /// Wall seconds per slice (encoder + resampler), overview first.
        public var secondsPerSlice: [Double]
        /// Stage times summed over the slices.
        public var timings: VisionTimings
    }

    public let vision: MiniCPMVVisionTower
    private let pool: ThreadPool
    private let normalization: PixelNormalization

    /// - Throws: ``RuntimeError/image(source:detail:)`` when the projector's mean/std are unusable.
    public init(vision: MiniCPMVVisionTower, pool: ThreadPool) throws {
        self.vision = vision
        self.pool = pool
        do {
            normalization = try PixelNormalization(mean: vision.configuration.imageMean, std: vision.configuration.imageStd)
        } catch {
            throw RuntimeError.image(source: vision.file.path, detail: "\(error)")
        }
    }

    /// Slices and embeds `image` (`source` names it in errors). llama.cpp compatibility also
    /// selects ggml's table GELU, as llama.cpp's encoder uses.
    /// - Throws: ``RuntimeError/image(source:detail:)`` for an image the slicer refuses,
    ///   ``RuntimeError/model(_:)`` when the encoder fails.
    public func encode(_ image: RGBImage, mode: MiniCPMVSlicingMode, source: String) throws -> Encoded {
        let c = vision.configuration
        let slicer = MiniCPMVSlicer(configuration: MiniCPMVSlicingConfiguration(
            scaleResolution: c.imageSize, patchSize: c.patchSize, maxSliceCount: 9, mode: mode))
        let gelu: SigLIPVisionEncoder.GELUVariant = mode == .llamaCpp ? .ggmlTable : .exact
        let sliced: MiniCPMVSlicedImage
        do { sliced = try slicer.slice(image) } catch {
            throw RuntimeError.image(source: source, detail: "\(error)")
        }
        var timings = VisionTimings()
        var embeddings: [[Float]] = []
        var seconds: [Double] = []
        for input in sliced.encoderInputs {
            var clock = StageClock()
            let tensor = PixelTensor(input, normalization: normalization)
            let rows = try tensor.values.withUnsafeBufferPointer { p throws -> [Float] in
                guard let base = p.baseAddress else { return [] }
                do {
                    return try vision.embed(pixels: base, height: tensor.height, width: tensor.width,
                                            gelu: gelu, pool: pool, timings: &timings)
                } catch let error as ModelsError { throw RuntimeError.model(error) }
            }
            embeddings.append(rows)
            seconds.append(clock.lap())
        }
        return Encoded(embeddings: embeddings, plan: sliced.plan,
                       sizes: sliced.encoderInputs.map { [$0.width, $0.height] },
                       secondsPerSlice: seconds, timings: timings)
    }
}
