/// Layer normalization with optional affine weight and bias, as ggml's `norm` then `mul`, `add`:
/// `y = (x − mean) / sqrt(var + eps) · weight + bias` per row (sums in Float64).
public enum LayerNorm {
    /// Normalizes `rows` rows of `width` floats; `output` may equal `input`.
    public static func apply(input: UnsafePointer<Float>, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                             output: UnsafeMutablePointer<Float>, rows: Int, width: Int, eps: Float) {
        for r in 0..<rows {
            let x = input + r * width
            let y = output + r * width
            var sum = 0.0
            for i in 0..<width { sum += Double(x[i]) }
            let mean = Float(sum / Double(width))
            var sum2 = 0.0
            for i in 0..<width {
                let v = x[i] - mean
                y[i] = v
                sum2 += Double(v * v)
            }
            let variance = Float(sum2 / Double(width))
            let scale = 1 / (variance + eps).squareRoot()
            switch (weight, bias) {
            case let (w?, b?): for i in 0..<width { y[i] = (y[i] * scale) * w[i] + b[i] }
            case let (w?, nil): for i in 0..<width { y[i] = (y[i] * scale) * w[i] }
            case let (nil, b?): for i in 0..<width { y[i] = y[i] * scale + b[i] }
            case (nil, nil): for i in 0..<width { y[i] = y[i] * scale }
            }
        }
    }

    /// Float64 twin of `apply`.
    public static func applyReference(input: UnsafePointer<Float>, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                                      output: UnsafeMutablePointer<Float>, rows: Int, width: Int, eps: Float) {
        for r in 0..<rows {
            let x = input + r * width
            var mean = 0.0
            for i in 0..<width { mean += Double(x[i]) }
            mean /= Double(width)
            var variance = 0.0
            for i in 0..<width { variance += (Double(x[i]) - mean) * (Double(x[i]) - mean) }
            variance /= Double(width)
            let scale = 1 / (variance + Double(eps)).squareRoot()
            for i in 0..<width {
                let v = (Double(x[i]) - mean) * scale * Double(weight?[i] ?? 1) + Double(bias?[i] ?? 0)
                output[r * width + i] = Float(v)
            }
        }
    }
}
