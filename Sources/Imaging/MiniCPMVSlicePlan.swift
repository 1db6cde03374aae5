/// Columns × rows of a slice grid (columns run along the width).
public struct SliceGrid: Hashable, Sendable, CustomStringConvertible {
    public var columns: Int
    public var rows: Int
    public init(columns: Int, rows: Int) {
        self.columns = columns
        self.rows = rows
    }
    public var description: String { "\(columns)×\(rows)" }
}

/// An axis-aligned rectangle in pixels.
public struct PixelRect: Hashable, Sendable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// The sizes MiniCPM-V's slicing chooses for one image (no pixels).
public struct MiniCPMVSlicePlan: Hashable, Sendable {
    /// The input image's size.
    public var originalSize: ImageSize
    /// The slice grid, or nil when the image is encoded whole (overview only).
    public var grid: SliceGrid?
    /// Size of the overview ("source") image, resized from the original; always encoded first.
    public var overviewSize: ImageSize
    /// Size of the refine image the slices are cut from (nil without a grid).
    public var refineSize: ImageSize?
    /// Where the resized original sits inside the refine image. Equal to the whole refine
    /// image in `.reference` mode; llama.cpp mode aspect-fits and pads (black) around it.
    public var refineContent: PixelRect?
    /// Size of every slice: refine size / grid, both sides multiples of the patch size.
    public var sliceSize: ImageSize?

    /// The slice rectangles inside the refine image, row-major (row 0 left to right, …).
    public var sliceRects: [PixelRect] {
        guard let grid, let sliceSize else { return [] }
        return (0..<grid.rows).flatMap { row in
            (0..<grid.columns).map { column in
                PixelRect(x: column * sliceSize.width, y: row * sliceSize.height,
                          width: sliceSize.width, height: sliceSize.height)
            }
        }
    }

    /// Number of encoder inputs: the overview plus one per slice.
    public var imageCount: Int { 1 + (grid.map { $0.columns * $0.rows } ?? 0) }
}
