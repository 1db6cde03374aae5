/// A ggml tensor element type, by its stable on-disk code (`enum ggml_type` in ggml.h).
///
/// Codes that ggml removed from the format (4, 5, 31–33, 36–38) are not cases: a file that
/// uses one gets ``GGUFError/unknownTensorType(file:tensor:code:)``. The table matches the
/// llama.cpp vendored in llama-cpp-python 0.3.36 (`GGML_TYPE_COUNT` = 43).
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q8_1 = 9
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case q8_K = 15
    case iq2_XXS = 16
    case iq2_XS = 17
    case iq3_XXS = 18
    case iq1_S = 19
    case iq4_NL = 20
    case iq3_S = 21
    case iq2_S = 22
    case iq4_XS = 23
    case i8 = 24
    case i16 = 25
    case i32 = 26
    case i64 = 27
    case f64 = 28
    case iq1_M = 29
    case bf16 = 30
    case tq1_0 = 34
    case tq2_0 = 35
    case mxfp4 = 39
    case nvfp4 = 40
    case q1_0 = 41
    case q2_0 = 42

    /// Number of elements in one block (1 for plain scalar types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .i8, .i16, .i32, .i64, .f64: 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_NL, .mxfp4: 32
        case .nvfp4, .q2_0: 64
        case .q1_0: 128
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K,
             .iq2_XXS, .iq2_XS, .iq3_XXS, .iq1_S, .iq3_S, .iq2_S, .iq4_XS, .iq1_M,
             .tq1_0, .tq2_0: 256
        }
    }

    /// Bytes one block occupies in a file (`ggml_type_size`).
    public var bytesPerBlock: Int {
        switch self {
        case .f32: 4
        case .f16: 2
        case .bf16: 2
        case .i8: 1
        case .i16: 2
        case .i32: 4
        case .i64: 8
        case .f64: 8
        case .q4_0: 18
        case .q4_1: 20
        case .q5_0: 22
        case .q5_1: 24
        case .q8_0: 34
        case .q8_1: 36
        case .q2_K: 84
        case .q3_K: 110
        case .q4_K: 144
        case .q5_K: 176
        case .q6_K: 210
        case .q8_K: 292
        case .iq2_XXS: 66
        case .iq2_XS: 74
        case .iq3_XXS: 98
        case .iq1_S: 50
        case .iq4_NL: 18
        case .iq3_S: 110
        case .iq2_S: 82
        case .iq4_XS: 136
        case .iq1_M: 56
        case .tq1_0: 54
        case .tq2_0: 66
        case .mxfp4: 17
        case .nvfp4: 36
        case .q1_0: 18
        case .q2_0: 18
        }
    }

    /// The name ggml prints for the type (`ggml_type_name`), e.g. `q4_K`, `f16`.
    public var name: String {
        switch self {
        case .f32: "f32"
        case .f16: "f16"
        case .bf16: "bf16"
        case .i8: "i8"
        case .i16: "i16"
        case .i32: "i32"
        case .i64: "i64"
        case .f64: "f64"
        case .q4_0: "q4_0"
        case .q4_1: "q4_1"
        case .q5_0: "q5_0"
        case .q5_1: "q5_1"
        case .q8_0: "q8_0"
        case .q8_1: "q8_1"
        case .q2_K: "q2_K"
        case .q3_K: "q3_K"
        case .q4_K: "q4_K"
        case .q5_K: "q5_K"
        case .q6_K: "q6_K"
        case .q8_K: "q8_K"
        case .iq2_XXS: "iq2_xxs"
        case .iq2_XS: "iq2_xs"
        case .iq3_XXS: "iq3_xxs"
        case .iq1_S: "iq1_s"
        case .iq4_NL: "iq4_nl"
        case .iq3_S: "iq3_s"
        case .iq2_S: "iq2_s"
        case .iq4_XS: "iq4_xs"
        case .iq1_M: "iq1_m"
        case .tq1_0: "tq1_0"
        case .tq2_0: "tq2_0"
        case .mxfp4: "mxfp4"
        case .nvfp4: "nvfp4"
        case .q1_0: "q1_0"
        case .q2_0: "q2_0"
        }
    }

    public var description: String { name }

    /// Bytes needed for `count` elements, or nil when `count` is not a whole number of blocks
    /// or the product overflows.
    public func byteCount(elements count: Int) -> Int? {
        guard count >= 0, count % blockSize == 0 else { return nil }
        let (bytes, overflow) = (count / blockSize).multipliedReportingOverflow(by: bytesPerBlock)
        return overflow ? nil : bytes
    }
}
