/// Element-wise arithmetic over `count` floats; `output` may equal either input.
public enum Elementwise {
    /// `output = a + b`.
    public static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { output[i] = a[i] + b[i] }
    }

    /// `output = a · b`.
    public static func mul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { output[i] = a[i] * b[i] }
    }

    /// `output = a · factor`.
    public static func scale(_ a: UnsafePointer<Float>, by factor: Float, output: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { output[i] = a[i] * factor }
    }

    /// Adds `bias` (length `width`) to each of `rows` rows in place.
    public static func addBias(_ matrix: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, width: Int) {
        for r in 0..<rows {
            let row = matrix + r * width
            for i in 0..<width { row[i] += bias[i] }
        }
    }

    /// Multiplies each of `rows` rows in place by `weight` (length `width`).
    public static func mulRows(_ matrix: UnsafeMutablePointer<Float>, weight: UnsafePointer<Float>, rows: Int, width: Int) {
        for r in 0..<rows {
            let row = matrix + r * width
            for i in 0..<width { row[i] *= weight[i] }
        }
    }
}
