import GGUF
import Kernels

/// Binds a model's tensors by name with declared shapes, keeping track of what was used.
///
/// Matrices stay in the memory-mapped file; small 1-D tensors (norms, biases) are decoded to
/// `Float` once. Every failure names the file and the tensor. Shapes are ggml `ne` order.
struct TensorBinder {
    let file: GGUFFile
    private(set) var used = Set<String>()

    init(file: GGUFFile) { self.file = file }

    /// The tensor `name`, checked against `shape` (trailing 1s ignored, as gguf-py drops them).
    mutating func info(_ name: String, shape: [Int]) throws(ModelsError) -> GGUFTensorInfo {
        guard file.hasTensor(named: name), let info = try? file.tensor(named: name) else {
            throw .missingTensor(file: file.path, tensor: name)
        }
        func trimmed(_ s: [Int]) -> [Int] {
            var s = s
            while s.count > 1, s.last == 1 { s.removeLast() }
            return s
        }
        guard trimmed(info.shape) == trimmed(shape) else {
            throw .tensorShapeMismatch(file: file.path, tensor: name, expected: shape, found: info.shape)
        }
        used.insert(name)
        return info
    }

    /// The shape of `name` as stored, or nil when the file lacks it (nothing is marked used).
    func storedShape(_ name: String) -> [Int]? {
        (try? file.tensor(named: name))?.shape
    }

    /// A weight matrix with GGUF `ne = [columns, rows]` (a Linear layer `columns → rows`).
    mutating func matrix(_ name: String, columns: Int, rows: Int) throws(ModelsError) -> WeightMatrix {
        try matrix(name, shape: [columns, rows], columns: columns, rows: rows)
    }

    /// A weight matrix read from a tensor of any rank whose elements form `rows × columns`.
    mutating func matrix(_ name: String, shape: [Int], columns: Int, rows: Int) throws(ModelsError) -> WeightMatrix {
        let info = try info(name, shape: shape)
        guard let base = file.bytes(of: info).baseAddress else {
            throw .tensorShapeMismatch(file: file.path, tensor: name, expected: shape, found: info.shape)
        }
        do {
            return try WeightMatrix(type: info.type, rows: rows, columns: columns, data: base, name: name)
        } catch {
            throw .unsupportedTensorType(file: file.path, tensor: name, type: info.type)
        }
    }

    /// A tensor of `count` elements (any shape with that element count and `shape`) as Float32.
    mutating func floats(_ name: String, shape: [Int]) throws(ModelsError) -> [Float] {
        let count = shape.reduce(1, *)
        let rowLength = shape.first ?? 1
        let m = try matrix(name, shape: shape, columns: rowLength, rows: count / max(rowLength, 1))
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress {
                for r in 0..<m.rows { m.dequantizeRow(r, into: base + r * rowLength) }
            }
            initialized = count
        }
    }

    /// A 1-D tensor of `count` elements as Float32.
    mutating func vector(_ name: String, _ count: Int) throws(ModelsError) -> [Float] {
        try floats(name, shape: [count])
    }

    /// Names of the file's tensors that were never bound.
    var unusedTensors: [String] { file.tensors.map(\.name).filter { !used.contains($0) } }
}
