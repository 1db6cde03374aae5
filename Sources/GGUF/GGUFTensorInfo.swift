/// One entry of a GGUF file's tensor directory.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name, e.g. `blk.0.attn_q.weight` (shorter than 64 bytes).
    public let name: String
    /// The element type.
    public let type: GGMLType
    /// Extents in ggml order: `shape[0]` (ne0) is the row length, the fastest-varying index.
    /// Has `n_dims` entries (0 to 4) exactly as stored.
    public let shape: [Int]
    /// Product of the extents (1 for `n_dims == 0`).
    public let elementCount: Int
    /// Byte offset of the data from the start of the file's data section.
    public let offset: Int
    /// Bytes of data (`ggml_nbytes`).
    public let byteCount: Int

    /// Memberwise; the caller guarantees the numbers are consistent.
    init(name: String, type: GGMLType, shape: [Int], elementCount: Int, offset: Int, byteCount: Int) {
        self.name = name
        self.type = type
        self.shape = shape
        self.elementCount = elementCount
        self.offset = offset
        self.byteCount = byteCount
    }

    /// Elements per row (`ne0`).
    public var rowLength: Int { shape.first ?? 1 }
    /// Number of rows (product of `ne1…ne3`).
    public var rowCount: Int { rowLength == 0 ? 0 : elementCount / rowLength }
}
