/// Root-mean-square normalization, as ggml's `rms_norm` followed by `mul`:
/// `y = x / sqrt(mean(x²) + eps) · weight` per row (sum of squares accumulated in Float64).
public enum RMSNorm {
    /// Normalizes `rows` rows of `width` floats. `weight` (length `width`) is optional;
    /// `output` may equal `input`.
    public static func apply(input: UnsafePointer<Float>, weight: UnsafePointer<Float>?,
                             output: UnsafeMutablePointer<Float>, rows: Int, width: Int, eps: Float) {
        for r in 0..<rows {
            let x = input + r * width
            let y = output + r * width
            var sum = 0.0
            for i in 0..<width { sum += Double(x[i] * x[i]) }
            let mean = Float(sum / Double(width))
            let scale = 1 / (mean + eps).squareRoot()
            if let weight {
                for i in 0..<width { y[i] = (x[i] * scale) * weight[i] }
            } else {
                for i in 0..<width { y[i] = x[i] * scale }
            }
        }
    }

    /// Float64 twin of `apply`.
    public static func applyReference(input: UnsafePointer<Float>, weight: UnsafePointer<Float>?,
                                      output: UnsafeMutablePointer<Float>, rows: Int, width: Int, eps: Float) {
        for r in 0..<rows {
            let x = input + r * width
            var sum = 0.0
            for i in 0..<width { sum += Double(x[i]) * Double(x[i]) }
            let scale = 1 / (sum / Double(width) + Double(eps)).squareRoot()
            for i in 0..<width {
                output[r * width + i] = Float(Double(x[i]) * scale * Double(weight?[i] ?? 1))
            }
        }
    }
}
