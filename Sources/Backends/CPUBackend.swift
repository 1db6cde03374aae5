import GGUF
import Kernels

/// The CPU backend: complete (it claims every op, so placement always has a home for it) and
/// always last in a placement. It computes mat-mul (every `WeightMatrix.supportedTypes` type),
/// LayerNorm, RMSNorm and GELU itself through `Kernels`; for the other kinds (attention, patch
/// embedding and the coarse stages) the CPU implementation is the model's own code in `Models`,
/// which callers pass to `FallbackExecutor.run` as its `cpu` closure.
public final class CPUBackend: Backend {
    public let name = "cpu"
    let pool: ThreadPool

    /// Op kinds this backend computes itself (the rest run in the caller's CPU code).
    public static let executableKinds: Set<OpKind> = [.matMul, .layerNorm, .rmsNorm, .gelu]

    /// A CPU backend running its kernels on `pool`.
    public init(pool: ThreadPool = ThreadPool()) {
        self.pool = pool
    }

    /// Always true: the CPU is the complete backend.
    public func supports(_ op: OpDescriptor) -> Bool { true }

    /// True when `prepare`/`run` compute `op` here rather than in the caller's CPU code.
    public func canExecute(_ op: OpDescriptor) -> Bool { Self.executableKinds.contains(op.kind) }

    public func shapeBuckets(for kind: OpKind) -> [ShapeBucket] { [] }

    /// Validates `op` and wraps mat-mul weights (no copy).
    /// - Throws: `.notExecutable` for kinds outside `executableKinds`, `.prepareFailed` for a
    ///   weight the kernels cannot use (type, shape).
    public func prepare(_ op: OpDescriptor) throws(BackendsError) -> PreparedOp {
        guard canExecute(op) else {
            throw .notExecutable(backend: name, op: op.label,
                                 reason: "\(op.kind) runs in the model's own CPU code; pass it as the cpu closure")
        }
        guard op.inputs.count == 1, op.outputs.count == 1 else {
            throw .prepareFailed(backend: name, op: op.label, message: "expected 1 input and 1 output")
        }
        switch op.kind {
        case .matMul:
            guard op.weights.count == 1, op.weights[0].shape.count == 2, let data = op.weights[0].data else {
                throw .prepareFailed(backend: name, op: op.label, message: "mat-mul needs one 2-D weight with data")
            }
            let w = op.weights[0]
            do {
                let matrix = try WeightMatrix(type: w.type, rows: w.shape[0], columns: w.shape[1], data: data, name: w.name)
                return PreparedOp(op: op, backendName: name, cpuWeight: matrix)
            } catch {
                throw .prepareFailed(backend: name, op: op.label, message: error.description)
            }
        default:
            for w in op.weights where w.type != .f32 || w.data == nil {
                throw .prepareFailed(backend: name, op: op.label, message: "norm weight \(w.name) must be F32 with data")
            }
            return PreparedOp(op: op, backendName: name)
        }
    }

    /// Computes the op on `pool`.
    /// - Throws: `.invalidTensors` when buffers do not match the op's shapes.
    public func run(_ prepared: PreparedOp, inputs: [HostTensor], outputs: [HostTensor]) throws(BackendsError) {
        let op = prepared.op
        guard inputs.count == 1, outputs.count == 1, inputs[0].type == .f32, outputs[0].type == .f32 else {
            throw .invalidTensors(op: op.label, message: "expected one F32 input and one F32 output")
        }
        let x = UnsafePointer(inputs[0].floats)
        let y = outputs[0].floats
        switch op.kind {
        case .matMul:
            guard let weight = prepared.cpuWeight, inputs[0].shape.count == 2, inputs[0].shape[1] == weight.columns,
                  outputs[0].elementCount == inputs[0].shape[0] * weight.rows else {
                throw .invalidTensors(op: op.label, message: "mat-mul shapes: input \(inputs[0].shape), output \(outputs[0].shape)")
            }
            MatMul.compute(weight: weight, input: x, batch: inputs[0].shape[0], output: y, pool: pool)
        case .layerNorm, .rmsNorm:
            guard let width = inputs[0].shape.last, width > 0, outputs[0].elementCount == inputs[0].elementCount else {
                throw .invalidTensors(op: op.label, message: "norm shapes: input \(inputs[0].shape), output \(outputs[0].shape)")
            }
            let rows = inputs[0].elementCount / width
            let gamma = op.weights.first?.data?.assumingMemoryBound(to: Float.self)
            if op.kind == .layerNorm {
                let beta = op.weights.count > 1 ? op.weights[1].data?.assumingMemoryBound(to: Float.self) : nil
                LayerNorm.apply(input: x, weight: gamma, bias: beta, output: y, rows: rows, width: width, eps: op.eps)
            } else {
                RMSNorm.apply(input: x, weight: gamma, output: y, rows: rows, width: width, eps: op.eps)
            }
        case .gelu:
            guard outputs[0].elementCount == inputs[0].elementCount else {
                throw .invalidTensors(op: op.label, message: "gelu shapes differ")
            }
            let count = inputs[0].elementCount
            switch op.geluVariant {
            case .tanh: Activations.geluTanh(input: x, output: y, count: count)
            case .erf: Activations.geluErf(input: x, output: y, count: count)
            case .ggml: Activations.geluGGML(input: x, output: y, count: count)
            }
        default:
            throw .notExecutable(backend: name, op: op.label, reason: "\(op.kind) runs in the model's own CPU code")
        }
    }

    public func release(_ prepared: PreparedOp) {}
}
