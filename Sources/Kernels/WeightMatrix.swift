import CKernels
import GGUF

/// A read-only weight matrix in a ggml storage type, usually memory-mapped from a GGUF file.
///
/// GGUF stores a 2-D tensor with `ne = [columns, rows]`: row `r` is `rowBytes` bytes at
/// `data + r * rowBytes`. The memory is borrowed, never copied: it must stay valid (mapped)
/// as long as the matrix is used.
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    public let data: UnsafeRawPointer
    /// Bytes of one row (`columns / blockSize * bytesPerBlock`).
    public let rowBytes: Int

    /// Types with a mat-mul kernel.
    public static let supportedTypes: [GGMLType] = [
        .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K,
    ]

    /// Wraps `rows × columns` elements of `type` at `data`.
    /// - Parameter name: used in error messages (e.g. the tensor name).
    /// - Throws: `KernelsError.unsupportedType` for types without a kernel,
    ///   `.columnsNotMultipleOfBlock` when a row is not whole blocks, `.invalidShape` for
    ///   non-positive dimensions.
    public init(type: GGMLType, rows: Int, columns: Int, data: UnsafeRawPointer, name: String = "weight") throws(KernelsError) {
        guard Self.supportedTypes.contains(type) else { throw .unsupportedType(type, context: name) }
        guard rows > 0, columns > 0 else { throw .invalidShape("\(name): \(rows)×\(columns)") }
        guard columns % type.blockSize == 0 else {
            throw .columnsNotMultipleOfBlock(type: type, columns: columns, blockSize: type.blockSize, context: name)
        }
        self.type = type
        self.rows = rows
        self.columns = columns
        self.data = data
        self.rowBytes = columns / type.blockSize * type.bytesPerBlock
    }

    /// Total bytes of the matrix.
    public var byteCount: Int { rows * rowBytes }

    /// Pointer to row `row` (0..<rows).
    @inline(__always)
    public func rowPointer(_ row: Int) -> UnsafeRawPointer { data + row * rowBytes }

    /// Decodes row `row` into `columns` floats at `output` (e.g. a token-embedding lookup).
    public func dequantizeRow(_ row: Int, into output: UnsafeMutablePointer<Float>) {
        precondition(row >= 0 && row < rows, "row \(row) out of 0..<\(rows)")
        ck_dequantize_row(Int32(type.rawValue), rowPointer(row), output, Int64(columns))
    }

    /// Decodes rows `range` into `range.count × columns` floats at `output`.
    public func dequantizeRows(_ range: Range<Int>, into output: UnsafeMutablePointer<Float>) {
        for (i, row) in range.enumerated() { dequantizeRow(row, into: output + i * columns) }
    }
}
