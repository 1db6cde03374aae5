import Imaging
import Tokenizer

/// How one image's visual tokens are laid out among text tokens (minicpmv-spec.md §3.6), with
/// the marker token ids looked up in the LLM's vocabulary as llama.cpp's mtmd does (the first
/// token whose special piece equals the marker text).
public struct MiniCPMVPromptLayout: Sendable {
    /// The "2.5" layout (projector version 2) or the "2.6" one (versions 3 and later).
    public enum Template: Sendable { case v2_5, v2_6 }

    public let template: Template
    let imageStart: Int32, imageEnd: Int32
    let sliceStart: Int32, sliceEnd: Int32
    let rowEnd: Int32

    /// - Throws: ``RuntimeError/missingImageMarker(file:marker:)`` when a marker is not one token.
    public init(projectorVersion: Int, tokenizer: BPETokenizer, file: String) throws {
        template = projectorVersion <= 2 ? .v2_5 : .v2_6
        func lookup(_ marker: String) throws -> Int32 {
            let bytes = Array(marker.utf8)
            for id in 0..<tokenizer.vocabularySize where tokenizer.piece(for: Int32(id), special: true) == bytes {
                return Int32(id)
            }
            throw RuntimeError.missingImageMarker(file: file, marker: marker == "\n" ? "\\n" : marker)
        }
        imageStart = try lookup("<image>")
        imageEnd = try lookup("</image>")
        sliceStart = try lookup("<slice>")
        sliceEnd = try lookup("</slice>")
        rowEnd = try lookup("\n")
    }

    /// The chunks for one image: `overview` and `slices` are `rows × width` embedding blocks of
    /// `queryCount` rows each; slices are row-major over `grid`.
    public func chunks(overview: [Float], slices: [[Float]], grid: SliceGrid?, queryCount: Int) -> [PromptChunk] {
        var out: [PromptChunk] = [.tokens([imageStart]), .embeddings(overview, rows: queryCount), .tokens([imageEnd])]
        guard let grid, !slices.isEmpty else { return merged(out) }
        let (open, close) = template == .v2_5 ? (imageStart, imageEnd) : (sliceStart, sliceEnd)
        if template == .v2_5 { out.append(.tokens([sliceStart])) }
        for row in 0..<grid.rows {
            for column in 0..<grid.columns {
                out.append(.tokens([open]))
                out.append(.embeddings(slices[row * grid.columns + column], rows: queryCount))
                out.append(.tokens([close]))
            }
            if row != grid.rows - 1 { out.append(.tokens([rowEnd])) }
        }
        if template == .v2_5 { out.append(.tokens([sliceEnd])) }
        return merged(out)
    }

    /// Joins neighbouring token chunks (fewer, larger decoder calls).
    func merged(_ chunks: [PromptChunk]) -> [PromptChunk] {
        var out: [PromptChunk] = []
        for chunk in chunks {
            if case let .tokens(next) = chunk, case let .tokens(previous)? = out.last {
                out[out.count - 1] = .tokens(previous + next)
            } else {
                out.append(chunk)
            }
        }
        return out
    }
}
