#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rotary position embedding as ggml's `rope_ext` (no YaRN extrapolation):
/// pair `i` (of `dimensions/2`) of a head rotates by `θ_i = p · freqScale / factor_i ·
/// base^(−2i/dimensions)`, with θ built by repeated multiplication exactly as ggml does.
public struct RoPE: Sendable {
    /// Which elements form a rotated pair.
    public enum Layout: Sendable {
        /// ggml NORM (Llama): adjacent elements `(2i, 2i+1)`.
        case normal
        /// ggml NEOX (Qwen2): halves `(i, i + dimensions/2)`.
        case neox
    }

    /// Rotated dimensions per head (`rope.dimension_count`, ≤ head dimension, even).
    public var dimensions: Int
    public var frequencyBase: Float
    /// `1 / rope.scaling.factor` for linear scaling; 1 otherwise.
    public var frequencyScale: Float
    public var layout: Layout
    /// Per-pair divisors of θ (`rope_freqs.weight`, e.g. Llama 3.1 scaling), `dimensions/2` long.
    public var frequencyFactors: [Float]?

    public init(dimensions: Int, frequencyBase: Float, frequencyScale: Float = 1, layout: Layout,
                frequencyFactors: [Float]? = nil) {
        self.dimensions = dimensions
        self.frequencyBase = frequencyBase
        self.frequencyScale = frequencyScale
        self.layout = layout
        self.frequencyFactors = frequencyFactors
    }

    /// Rotates `tokens` rows in place. Row `t` starts at `data + t * tokenStride` and holds
    /// `heads` heads of `headDimension` floats, `headStride` apart; its position is `positions[t]`.
    public func apply(_ data: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDimension: Int,
                      headStride: Int, tokenStride: Int, positions: UnsafePointer<Int32>) {
        let pairs = dimensions / 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * pairs) { cache in
            let cosines = cache.baseAddress.unsafelyUnwrapped
            let sines = cosines + pairs
            let thetaScale = powf(frequencyBase, -2 / Float(dimensions))
            for t in 0..<tokens {
                var theta = Float(positions[t])
                for i in 0..<pairs {
                    let factor = frequencyFactors?[i] ?? 1
                    let angle = frequencyScale * (theta / factor)
                    cosines[i] = cosf(angle)
                    sines[i] = sinf(angle)
                    theta *= thetaScale
                }
                for h in 0..<heads {
                    let x = data + t * tokenStride + h * headStride
                    rotate(x, cosines: cosines, sines: sines, pairs: pairs)
                }
            }
        }
    }

    /// One fused multiply-add per output, as the compiled ggml computes `x0·cos − x1·sin` and
    /// `x0·sin + x1·cos` (GCC contracts them: fma(x0, cos, −x1·sin), fma(x0, sin, x1·cos); found
    /// bit for bit on llama.cpp's own RoPE outputs), so the rotated keys and queries are
    /// llama.cpp's to the bit.
    @inline(__always)
    private func rotate(_ x: UnsafeMutablePointer<Float>, cosines: UnsafePointer<Float>, sines: UnsafePointer<Float>, pairs: Int) {
        switch layout {
        case .normal:
            for i in 0..<pairs {
                let a = x[2 * i], b = x[2 * i + 1]
                x[2 * i] = (-(b * sines[i])).addingProduct(a, cosines[i])
                x[2 * i + 1] = (b * cosines[i]).addingProduct(a, sines[i])
            }
        case .neox:
            for i in 0..<pairs {
                let a = x[i], b = x[i + pairs]
                x[i] = (-(b * sines[i])).addingProduct(a, cosines[i])
                x[i + pairs] = (b * cosines[i]).addingProduct(a, sines[i])
            }
        }
    }

    /// Float64 twin of `apply` (θ from `pow`, not repeated multiplication).
    public func applyReference(_ data: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDimension: Int,
                               headStride: Int, tokenStride: Int, positions: UnsafePointer<Int32>) {
        let pairs = dimensions / 2
        for t in 0..<tokens {
            for h in 0..<heads {
                let x = data + t * tokenStride + h * headStride
                for i in 0..<pairs {
                    let factor = Double(frequencyFactors?[i] ?? 1)
                    let angle = Double(frequencyScale) * Double(positions[t]) / factor
                        * pow(Double(frequencyBase), -2 * Double(i) / Double(dimensions))
                    let (ia, ib) = layout == .normal ? (2 * i, 2 * i + 1) : (i, i + pairs)
                    let a = Double(x[ia]), b = Double(x[ib])
                    x[ia] = Float(a * cos(angle) - b * sin(angle))
                    x[ib] = Float(a * sin(angle) + b * cos(angle))
                }
            }
        }
    }

    /// Llama 3.1 rope scaling as `rope_freqs.weight` factors (what convert_hf_to_gguf writes):
    /// long wavelengths are divided by `factor`, short ones kept, the middle band interpolated.
    public static func llama3FrequencyFactors(dimensions: Int, frequencyBase: Float, factor: Float,
                                              lowFrequencyFactor: Float, highFrequencyFactor: Float,
                                              originalContextLength: Int) -> [Float] {
        let lowWavelength = Double(originalContextLength) / Double(lowFrequencyFactor)
        let highWavelength = Double(originalContextLength) / Double(highFrequencyFactor)
        return stride(from: 0, to: dimensions, by: 2).map { i in
            let frequency = 1 / pow(Double(frequencyBase), Double(i) / Double(dimensions))
            let wavelength = 2 * Double.pi / frequency
            if wavelength < highWavelength { return 1 }
            if wavelength > lowWavelength { return factor }
            let smooth = (Double(originalContextLength) / wavelength - Double(lowFrequencyFactor))
                / Double(highFrequencyFactor - lowFrequencyFactor)
            return Float(1 / ((1 - smooth) / Double(factor) + smooth))
        }
    }
}
