#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CKernels

/// Element-wise activation functions over `count` floats; `output` may equal `input`.
public enum Activations {
    static let sqrt2OverPi: Float = 0.79788456080286535587989211986876
    static let geluCoefficient: Float = 0.044715

    /// GELU, tanh approximation in Float32: `0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²)))`.
    public static func geluTanh(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let x = input[i]
            output[i] = 0.5 * x * (1 + tanhf(sqrt2OverPi * x * (1 + geluCoefficient * x * x)))
        }
    }

    /// GELU exactly as ggml's CPU backend computes it (GGML_GELU_FP16): the input is rounded to
    /// fp16 and looked up in a table of fp16-rounded tanh-GELU values; |x| ≥ 10 passes through
    /// (x) or gives 0. Use it for parity with llama.cpp's vision encoder.
    public static func geluGGML(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        ck_gelu_fp16_table(input, output, Int64(count))
    }

    /// GELU with the exact error function: `0.5·x·(1 + erf(x/√2))`.
    public static func geluErf(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let x = input[i]
            output[i] = 0.5 * x * (1 + erff(x * 0.70710678118654752440084436210484))
        }
    }

    /// SiLU: `x / (1 + e^−x)`.
    public static func silu(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let x = input[i]
            output[i] = x / (1 + expf(-x))
        }
    }

    /// SwiGLU: `silu(gate) · up`, vectorised in C (`ck_swiglu`, a few ulp from libm's expf);
    /// `output` may equal `gate` or `up`.
    public static func swiGLU(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        ck_swiglu(output, gate, up, Int64(count))
    }

    /// Float64 twins, for tests.
    public static func geluTanhReference(_ x: Float) -> Float {
        let v = Double(x)
        return Float(0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * v * (1 + 0.044715 * v * v))))
    }
    public static func geluErfReference(_ x: Float) -> Float {
        let v = Double(x)
        return Float(0.5 * v * (1 + erf(v / 2.0.squareRoot())))
    }
    public static func siluReference(_ x: Float) -> Float {
        let v = Double(x)
        return Float(v / (1 + exp(-v)))
    }
}
