/// The ViT patch grid of one encoder input and its position ids (spec §1.2).
///
/// MiniCPM-V's SigLIP indexes a learned 70×70 position table with bucketed coordinates
/// instead of interpolating it: patch (row, col) of an h×w grid uses
/// `floor(70·row/h) · 70 + floor(70·col/w)`. Grids wider or taller than 70 patches (e.g. an
/// 87-patch-wide overview of a 3000×400 image) reuse buckets; that is intended.
public struct VisionPatchGrid: Hashable, Sendable {
    /// Patches along the width (image width / patch size).
    public let columns: Int
    /// Patches along the height.
    public let rows: Int

    /// The grid of an image whose sides are multiples of `patchSize`.
    /// - Throws: `ImagingError.invalidSize` when a side is not a positive multiple of `patchSize`.
    public init(imageSize: ImageSize, patchSize: Int = 14) throws {
        guard patchSize >= 1, imageSize.width >= patchSize, imageSize.height >= patchSize,
              imageSize.width % patchSize == 0, imageSize.height % patchSize == 0 else {
            throw ImagingError.invalidSize(operation: "ViT patch grid",
                                           detail: "image \(imageSize) is not a positive multiple of the patch size \(patchSize)")
        }
        self.columns = imageSize.width / patchSize
        self.rows = imageSize.height / patchSize
    }

    /// Number of patches (tokens) the ViT sees.
    public var count: Int { columns * rows }

    /// floor(tableSide · i / n) for i in 0..<n (exact integer arithmetic; equals llama.cpp's
    /// `std::floor(70.0*i/n)` because a quotient of integers never rounds across an integer).
    public static func buckets(count n: Int, tableSide: Int = 70) -> [Int] {
        (0..<n).map { tableSide * $0 / n }
    }

    /// Row-major position ids into a `tableSide`² table: index `row * columns + col` holds
    /// `bucket(row, rows) * tableSide + bucket(col, columns)`.
    public func positionIDs(tableSide: Int = 70) -> [Int32] {
        let rowBuckets = Self.buckets(count: rows, tableSide: tableSide)
        let columnBuckets = Self.buckets(count: columns, tableSide: tableSide)
        var ids = [Int32]()
        ids.reserveCapacity(count)
        for r in rowBuckets {
            for c in columnBuckets { ids.append(Int32(r * tableSide + c)) }
        }
        return ids
    }
}
