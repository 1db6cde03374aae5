import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Row softmax as ggml's `soft_max_ext`: `y = softmax(x · scale + mask)`, sum in Float64,
/// exponentials vectorised (`ck_exp_shifted`; the Float64 twin uses libm).
public enum Softmax {
    /// Applies softmax to `rows` rows of `width` floats (in place allowed). `mask`, if given,
    /// holds `rows × width` additive terms (use `-Float.infinity` to exclude). When `causalOffset`
    /// is non-nil, row `r` keeps only columns `0...(causalOffset + r)`.
    public static func apply(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, rows: Int, width: Int,
                             scale: Float = 1, mask: UnsafePointer<Float>? = nil, causalOffset: Int? = nil) {
        for r in 0..<rows {
            let x = input + r * width
            let y = output + r * width
            let limit = causalOffset.map { min(width, max(0, $0 + r + 1)) } ?? width
            // Scale, mask and row maximum in one vectorised C pass (ck_scale_max).
            let maximum = ck_scale_max(y, x, mask.map { $0 + r * width }, Int64(limit), scale)
            if maximum == -Float.infinity {
                for i in 0..<width { y[i] = 0 }
                continue
            }
            // Vectorised exp in CKernels (as ggml's soft_max does; libm's expf per element
            // was most of the vision encoder's attention time).
            let sum = ck_exp_shifted(y, y, Int64(limit), maximum)
            let inverse = Float(1 / sum)
            for i in 0..<limit { y[i] *= inverse }
            for i in limit..<width { y[i] = 0 }
        }
    }

    /// Float64 twin of `apply`.
    public static func applyReference(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, rows: Int, width: Int,
                                      scale: Float = 1, mask: UnsafePointer<Float>? = nil, causalOffset: Int? = nil) {
        for r in 0..<rows {
            let limit = causalOffset.map { min(width, max(0, $0 + r + 1)) } ?? width
            var values = [Double](repeating: -.infinity, count: width)
            for i in 0..<limit {
                values[i] = Double(input[r * width + i]) * Double(scale) + Double(mask?[r * width + i] ?? 0)
            }
            let maximum = values.max() ?? 0
            if maximum == -.infinity {
                for i in 0..<width { output[r * width + i] = 0 }
                continue
            }
            let exps = values.map { $0 == -.infinity ? 0 : exp64($0 - maximum) }
            let sum = exps.reduce(0, +)
            for i in 0..<width { output[r * width + i] = Float(exps[i] / sum) }
        }
    }
}

@inline(__always) func exp64(_ x: Double) -> Double { exp(x) }
