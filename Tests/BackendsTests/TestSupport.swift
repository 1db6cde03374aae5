import Backends
import Foundation
import GGUF
import Synchronization

/// Deterministic random numbers (SplitMix64).
struct SeededGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-scale, scale).
    mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * scale }
    }
}

/// Weight bytes of `values` (rows × columns) stored as `type` (F32, F16 or Q8_0).
func encodeWeights(_ values: [Float], type: GGMLType, columns: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    switch type {
    case .f32:
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
    case .f16:
        for v in values { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { bytes += $0 } }
    case .q8_0:
        // ggml's quantize_row_q8_0_ref: d = amax / 127, q = round(x / d).
        for blockStart in stride(from: 0, to: values.count, by: 32) {
            let block = values[blockStart..<blockStart + 32]
            let amax = block.map { abs($0) }.max() ?? 0
            let d = amax / 127
            let inverse: Float = d == 0 ? 0 : 1 / d
            withUnsafeBytes(of: Float16(d).bitPattern.littleEndian) { bytes += $0 }
            for v in block { bytes.append(UInt8(bitPattern: Int8((v * inverse).rounded()))) }
        }
    default:
        preconditionFailure("test encoder has no \(type)")
    }
    return bytes
}

/// A heap buffer of floats that outlives the calls using its pointer.
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(_ values: [Float]) {
        count = values.count
        pointer = .allocate(capacity: max(1, count))
        pointer.initialize(from: values, count: count)
    }
    init(zeros count: Int) { self.count = count; pointer = .allocate(capacity: max(1, count)); pointer.initialize(repeating: 0, count: max(1, count)) }
    deinit { pointer.deallocate() }
    var values: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    func tensor(_ shape: [Int]) -> HostTensor { HostTensor(type: .f32, shape: shape, data: UnsafeMutableRawPointer(pointer)) }
}

/// Raw weight bytes kept alive for the test's duration.
final class ByteBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ bytes: [UInt8]) {
        pointer = .allocate(byteCount: max(1, bytes.count), alignment: 64)
        bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    }
    deinit { pointer.deallocate() }
}

/// A clock the test moves by hand.
final class ManualClock: BackendClock {
    private let now = Mutex<UInt64>(1_000_000_000)
    func nanoseconds() -> UInt64 { now.withLock { $0 } }
    func advance(milliseconds: Double) { now.withLock { $0 += UInt64(milliseconds * 1e6) } }
}

/// Max |a − b| over the arrays.
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// Root mean square of `values`.
func rms(_ values: [Float]) -> Float {
    (values.map { Double($0 * $0) }.reduce(0, +) / Double(max(1, values.count))).squareRoot().float
}

extension Double { var float: Float { Float(self) } }

/// A mat-mul fixture: weights of `type`, random input, output buffer.
struct MatMulFixture {
    let weights: ByteBuffer
    let input: FloatBuffer
    let op: OpDescriptor
    let rows: Int
    let columns: Int
    let batch: Int

    init(type: GGMLType, rows: Int = 64, columns: Int = 256, batch: Int, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let values = rng.floats(rows * columns)
        weights = ByteBuffer(encodeWeights(values, type: type, columns: columns))
        input = FloatBuffer(rng.floats(batch * columns))
        self.rows = rows
        self.columns = columns
        self.batch = batch
        op = .matMul(label: "test.matmul.\(type)",
                     weight: TensorDescriptor(name: "w.\(type)", type: type, shape: [rows, columns], data: UnsafeRawPointer(weights.pointer)),
                     batch: batch)
    }

    func output() -> FloatBuffer { FloatBuffer(zeros: batch * rows) }
}
