import GGUF

/// Type, shape and (for weights) data of one tensor of an op. Shapes are outermost first
/// (row-major): `[rows, columns]` means `columns` contiguous elements per row.
/// Weight data is borrowed (usually memory-mapped) and must outlive every prepared op using it.
public struct TensorDescriptor: @unchecked Sendable {
    /// GGUF name for weights, a role ("input", "output") for activations.
    public var name: String
    public var type: GGMLType
    public var shape: [Int]
    /// Weight data; nil for activations (they arrive with each run).
    public var data: UnsafeRawPointer?

    /// Describes a tensor; `shape` must have 1 to 4 dimensions.
    public init(name: String, type: GGMLType, shape: [Int], data: UnsafeRawPointer? = nil) {
        self.name = name
        self.type = type
        self.shape = shape
        self.data = data
    }

    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }

    /// Bytes of the tensor's data in its storage type (whole blocks for quantized types).
    public var byteCount: Int {
        guard let last = shape.last, last > 0 else { return 0 }
        let rows = elementCount / last
        return rows * (last / type.blockSize) * type.bytesPerBlock
    }
}

/// An activation buffer handed to `Backend.run`: host memory, contiguous, with its shape.
/// Inputs are only read; outputs must not overlap inputs.
public struct HostTensor: @unchecked Sendable {
    public var type: GGMLType
    public var shape: [Int]
    public var data: UnsafeMutableRawPointer

    /// Wraps `data` holding a contiguous tensor of `type` and `shape` (outermost first).
    public init(type: GGMLType = .f32, shape: [Int], data: UnsafeMutableRawPointer) {
        self.type = type
        self.shape = shape
        self.data = data
    }

    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }

    /// The data as Float32 (only meaningful when `type == .f32`).
    public var floats: UnsafeMutablePointer<Float> { data.assumingMemoryBound(to: Float.self) }
}
