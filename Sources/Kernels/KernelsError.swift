import GGUF

/// What went wrong when setting up a kernel (bad weight shapes or types).
public enum KernelsError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The weight type has no kernel here (e.g. IQ types, Q8_K).
    case unsupportedType(GGMLType, context: String)
    /// A row length is not a whole number of the type's blocks.
    case columnsNotMultipleOfBlock(type: GGMLType, columns: Int, blockSize: Int, context: String)
    /// A dimension is zero or negative, or shapes of operands disagree.
    case invalidShape(String)

    public var description: String {
        switch self {
        case let .unsupportedType(type, context):
            "\(context): weight type \(type) is not supported by the CPU kernels (supported: f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q2_K, q3_K, q4_K, q5_K, q6_K); re-quantize the model"
        case let .columnsNotMultipleOfBlock(type, columns, blockSize, context):
            "\(context): row length \(columns) is not a multiple of the \(type) block size \(blockSize)"
        case let .invalidShape(message):
            "invalid shape: \(message)"
        }
    }
}
