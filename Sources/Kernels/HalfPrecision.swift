import CKernels

/// Rows of IEEE fp16 values (e.g. an F16 KV cache) to and from Float32.
public enum HalfPrecision {
    /// Rounds `count` floats to fp16 (nearest, ties to even) into `output`.
    public static func encode(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<UInt16>, count: Int) {
        ck_fp32_to_fp16_row(input, output, Int64(count))
    }

    /// Widens `count` fp16 values to Float32 (exact) into `output`.
    public static func decode(_ input: UnsafePointer<UInt16>, into output: UnsafeMutablePointer<Float>, count: Int) {
        ck_fp16_to_fp32_row(input, output, Int64(count))
    }
}
