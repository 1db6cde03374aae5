import GGUF

/// Hyperparameters of a MiniCPM-V vision projector (the `mmproj` GGUF): the SigLIP encoder and
/// the perceiver resampler, read from the file's `clip.*` keys as llama.cpp reads them
/// (minicpmv-spec.md §2.1).
public struct MiniCPMVProjectorConfiguration: Sendable, Equatable {
    /// `clip.minicpmv_version` (2 = Llama3-V 2.5, 3 = 2.6, 4 = o2.6, 5 = 4.0, 6 = 4.5); 2 when absent.
    public var version: Int
    /// Slice side in pixels (`clip.vision.image_size`, 448 for the official models).
    public var imageSize: Int
    public var patchSize: Int
    /// ViT width (`clip.vision.embedding_length`).
    public var width: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var blockCount: Int
    public var layerNormEpsilon: Float
    /// Per-channel normalisation, from the file (never assumed: old converters wrote CLIP's).
    public var imageMean: [Float]
    public var imageStd: [Float]
    /// Visual tokens per slice (`clip.minicpmv_query_num`, else 96 for version 2 and 64 otherwise).
    public var queryCount: Int
    /// Resampler / LLM embedding width (`resampler.proj.weight` ne[0]).
    public var embeddingWidth: Int
    /// Side of the learned position-embedding grid (70 for SigLIP so400m at 980/14).
    public var positionGridSide: Int
    /// The MLP activation (`clip.use_gelu` → tanh GELU, `clip.use_silu` → SiLU).
    public var activation: Activation

    public enum Activation: String, Sendable, Equatable { case geluTanh, silu, geluQuick }

    /// Width of one attention head in the resampler (llama.cpp fixes it at 128).
    public static let resamplerHeadDimension = 128

    public var headDimension: Int { width / headCount }
    public var resamplerHeadCount: Int { embeddingWidth / Self.resamplerHeadDimension }

    /// Reads and validates the hyperparameters of `file`.
    /// - Throws: ``ModelsError/unsupportedProjector(file:detail:)`` for a file that is not a
    ///   MiniCPM-V resampler projector, ``ModelsError/gguf(_:)`` for missing required keys,
    ///   ``ModelsError/invalidHyperparameter(file:key:detail:)`` for impossible values.
    public init(file: GGUFFile) throws(ModelsError) {
        let m = file.metadata
        func get<T>(_ body: () throws -> T) throws(ModelsError) -> T {
            do { return try body() } catch let error as GGUFError { throw .gguf(error) } catch {
                throw .unsupportedProjector(file: file.path, detail: "\(error)")
            }
        }
        func invalid(_ key: String, _ detail: String) -> ModelsError {
            .invalidHyperparameter(file: file.path, key: key, detail: detail)
        }
        let architecture = try get { try m.optionalString("general.architecture") }
        if let architecture, architecture != "clip" {
            throw .unsupportedProjector(file: file.path, detail: "general.architecture is '\(architecture)', expected 'clip' (is this the LLM file rather than the mmproj?)")
        }
        var projector = try get { try m.optionalString("clip.projector_type") }
        if projector == nil { projector = try get { try m.optionalString("clip.vision.projector_type") } }
        guard projector == "resampler" else {
            throw .unsupportedProjector(file: file.path, detail: "clip.projector_type is \(projector.map { "'\($0)'" } ?? "absent"), expected 'resampler'")
        }
        guard try get({ try m.bool("clip.has_vision_encoder", default: true) }) else {
            throw .unsupportedProjector(file: file.path, detail: "clip.has_vision_encoder is false")
        }
        version = Int(try get { try m.int32("clip.minicpmv_version", default: 2) })
        guard (2...6).contains(version) else {
            throw invalid("clip.minicpmv_version", "\(version) is not one of 2…6 (MiniCPM-V 2.5 … 4.5)")
        }
        imageSize = Int(try get { try m.uint32("clip.vision.image_size") })
        patchSize = Int(try get { try m.uint32("clip.vision.patch_size") })
        width = Int(try get { try m.uint32("clip.vision.embedding_length") })
        feedForwardLength = Int(try get { try m.uint32("clip.vision.feed_forward_length") })
        headCount = Int(try get { try m.uint32("clip.vision.attention.head_count") })
        blockCount = Int(try get { try m.uint32("clip.vision.block_count") })
        layerNormEpsilon = try get { try m.float32("clip.vision.attention.layer_norm_epsilon") }
        imageMean = try get { try m.float32Array("clip.vision.image_mean") }
        imageStd = try get { try m.float32Array("clip.vision.image_std") }
        guard patchSize > 0, imageSize >= patchSize, imageSize % patchSize == 0 else {
            throw invalid("clip.vision.patch_size", "patch \(patchSize) does not divide image size \(imageSize)")
        }
        guard width > 0, headCount > 0, width % headCount == 0 else {
            throw invalid("clip.vision.attention.head_count", "\(headCount) heads do not divide width \(width)")
        }
        guard feedForwardLength > 0, blockCount > 0 else {
            throw invalid("clip.vision.block_count", "block count \(blockCount), feed-forward length \(feedForwardLength)")
        }
        guard imageMean.count == 3, imageStd.count == 3, !imageStd.contains(where: { $0 == 0 }) else {
            throw invalid("clip.vision.image_std", "mean \(imageMean) / std \(imageStd) must have 3 entries, std non-zero")
        }
        let useGELU = try get { try m.bool("clip.use_gelu", default: false) }
        let useSiLU = try get { try m.bool("clip.use_silu", default: false) }
        if useGELU && useSiLU { throw invalid("clip.use_gelu", "both clip.use_gelu and clip.use_silu are true") }
        activation = useGELU ? .geluTanh : useSiLU ? .silu : .geluQuick

        guard let proj = try? file.tensor(named: "resampler.proj.weight") else {
            throw .missingTensor(file: file.path, tensor: "resampler.proj.weight")
        }
        embeddingWidth = proj.rowLength
        guard embeddingWidth % Self.resamplerHeadDimension == 0, embeddingWidth % 4 == 0 else {
            throw invalid("resampler.proj.weight", "embedding width \(embeddingWidth) is not a multiple of 128 (resampler heads are 128 wide)")
        }
        let fileQueries = Int(try get { try m.uint32("clip.minicpmv_query_num", default: 0) })
        queryCount = fileQueries > 0 ? fileQueries : (version == 2 ? 96 : 64)
        if let query = try? file.tensor(named: "resampler.query"), query.rowCount != queryCount {
            throw invalid("clip.minicpmv_query_num", "resampler.query has \(query.rowCount) rows but the query count is \(queryCount)")
        }
        guard let table = try? file.tensor(named: "v.position_embd.weight") else {
            throw .missingTensor(file: file.path, tensor: "v.position_embd.weight")
        }
        let side = Int(Double(table.rowCount).squareRoot().rounded())
        guard side * side == table.rowCount, side > 0 else {
            throw invalid("v.position_embd.weight", "\(table.rowCount) rows is not a square grid")
        }
        positionGridSide = side
    }
}
