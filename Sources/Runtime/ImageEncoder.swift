import Foundation
import Imaging
import Kernels
import Models
import Synchronization

/// MiniCPM-V's adaptive visual encoding of one image: slices it (overview first, then the grid
/// slices in reading order), normalises each slice and embeds it with the vision tower. Shared
/// by `VisionLanguageModel.caption` and `edgevlm bench vision`, so the benchmark times exactly
/// what captioning runs.
///
/// With several threads and several slices, whole slices run side by side, one per thread
/// ("lanes", each with its own one-thread pool, claiming slices as it finishes them), and only
/// the slices left over when the count does not divide evenly use every thread together. A
/// slice on one thread does its SGEMMs unsplit: splitting one product over threads makes every
/// thread pack the whole activation matrix again (measured 91 % two-thread efficiency on one
/// 448×448 slice). The results are bit-identical either way, because every kernel gives the
/// same values for any thread count.
public struct ImageEncoder: @unchecked Sendable {
    /// One encoded image.
    public struct Encoded: Sendable {
        /// `queryCount × embeddingWidth` floats per slice, overview first.
        public var embeddings: [[Float]]
        public var plan: MiniCPMVSlicePlan
        /// (width, height) of every encoder input, overview first.
        public var sizes: [[Int]]
        /// Wall seconds per slice (encoder + resampler), overview first. Slices that ran side by
        /// side overlap in time, so these add up to more than `wallSeconds`.
        public var secondsPerSlice: [Double]
        /// Wall seconds for the whole image (all slices).
        public var wallSeconds: Double
        /// Stage times summed over the slices.
        public var timings: VisionTimings
    }

    public let vision: MiniCPMVVisionTower
    private let pool: ThreadPool
    /// One single-thread pool per lane; empty when slices run one after another (one thread,
    /// or a router that may send ops to an accelerator, which runs one op at a time).
    private let lanePools: [ThreadPool]
    private let normalization: PixelNormalization

    /// - Parameter sliceLanes: run whole slices side by side on the pool's threads (default);
    ///   `false` runs them one after another, each on all threads.
    /// - Throws: ``RuntimeError/image(source:detail:)`` when the projector's mean/std are unusable.
    public init(vision: MiniCPMVVisionTower, pool: ThreadPool, sliceLanes: Bool = true) throws {
        self.vision = vision
        self.pool = pool
        let lanes = sliceLanes && !vision.router.routesToAccelerators ? pool.threadCount : 1
        lanePools = lanes >= 2 ? (0..<lanes).map { _ in ThreadPool(threadCount: 1) } : []
        do {
            normalization = try PixelNormalization(mean: vision.configuration.imageMean, std: vision.configuration.imageStd)
        } catch {
            throw RuntimeError.image(source: vision.file.path, detail: "\(error)")
        }
    }

    /// What one slice produced.
    private struct SliceOutcome {
        var embedding: [Float]
        var seconds: Double
        var timings: VisionTimings
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
        let inputs = sliced.encoderInputs
        var wall = StageClock()
        let outcomes = UnsafeMutableBufferPointer<Result<SliceOutcome, any Error>?>.allocate(capacity: inputs.count)
        outcomes.initialize(repeating: nil)
        defer {
            outcomes.deinitialize()
            outcomes.deallocate()
        }
        func run(_ index: Int, on slicePool: ThreadPool) {
            outcomes[index] = Result { try encodeSlice(inputs[index], gelu: gelu, pool: slicePool) }
        }
        // Lanes claim the first whole rounds of slices one at a time (a lane slowed by another
        // process takes fewer); the remainder uses every thread together.
        let lanes = lanePools.count
        let laned = lanes >= 2 ? inputs.count / lanes * lanes : 0
        if laned > 0 {
            let next = Atomic<Int>(0)
            pool.parallelFor(lanes, minimumChunk: 1) { range in
                for lane in range {
                    while true {
                        let index = next.add(1, ordering: .relaxed).oldValue
                        guard index < laned else { break }
                        run(index, on: lanePools[lane])
                    }
                }
            }
        }
        for index in laned..<inputs.count { run(index, on: pool) }

        var timings = VisionTimings()
        var embeddings: [[Float]] = []
        var seconds: [Double] = []
        // Every index ran exactly once above, so every slot is filled.
        for case let outcome? in outcomes {
            let slice = try outcome.get()
            embeddings.append(slice.embedding)
            seconds.append(slice.seconds)
            timings.add(slice.timings)
        }
        return Encoded(embeddings: embeddings, plan: sliced.plan,
                       sizes: inputs.map { [$0.width, $0.height] },
                       secondsPerSlice: seconds, wallSeconds: wall.lap(), timings: timings)
    }

    /// Normalises and embeds one slice on `pool`.
    private func encodeSlice(_ input: RGBImage, gelu: SigLIPVisionEncoder.GELUVariant, pool: ThreadPool) throws -> SliceOutcome {
        var clock = StageClock()
        var timings = VisionTimings()
        let tensor = PixelTensor(input, normalization: normalization)
        let rows = try tensor.values.withUnsafeBufferPointer { p throws -> [Float] in
            guard let base = p.baseAddress else { return [] }
            do {
                return try vision.embed(pixels: base, height: tensor.height, width: tensor.width,
                                        gelu: gelu, pool: pool, timings: &timings)
            } catch let error as ModelsError { throw RuntimeError.model(error) }
        }
        return SliceOutcome(embedding: rows, seconds: clock.lap(), timings: timings)
    }
}
