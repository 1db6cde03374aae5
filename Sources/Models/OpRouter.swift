import Backends
import Foundation
import GGUF
import Kernels
import Synchronization

/// Sends a network's ops and stages to the backend the placement chose, with the model's own
/// CPU code as the fallback (spec §7). Every call site passes its CPU implementation; with no
/// accelerator configured that code runs directly, so a CPU-only model pays nothing for the seam.
///
/// Plans are made lazily, once per op label and input shape (an NPU that compiles static graphs
/// sees each slice size once), and kept until the router is released. When the chosen backend
/// declared shape buckets, fine ops are padded along their first dimension to the bucket (rows
/// are independent in mat-mul, norms and GELU, so the padding cannot change the kept rows).
public final class OpRouter: Sendable {
    /// Nil when only the CPU is configured: nothing is planned.
    public let executor: FallbackExecutor?
    /// Whether per-op wall time is recorded (``profile()``).
    public let profiling: Bool
    private let state = Mutex(State())

    struct State {
        var plans: [String: PlannedOp] = [:]
        var planOrder: [PlannedOp] = []
        var profile: [String: OpProfileEntry] = [:]
        var profileOrder: [String] = []
    }

    /// A router over `executor`'s placement; `nil` runs everything on the model's CPU code.
    public init(executor: FallbackExecutor?, profiling: Bool = false) {
        // A placement with only the CPU has nothing to route.
        if let executor, executor.placement.backends.count > 1 {
            self.executor = executor
        } else {
            self.executor = nil
        }
        self.profiling = profiling
    }

    /// Runs everything on the model's CPU code, unprofiled.
    public static let cpuOnly = OpRouter(executor: nil)

    deinit {
        guard let executor else { return }
        for planned in state.withLock({ $0.planOrder }) { executor.release(planned) }
    }

    /// True when an accelerator may take ops.
    public var routesToAccelerators: Bool { executor != nil }

    /// Runs one op or stage. `describe` is evaluated only when the op is first planned.
    /// - Parameters:
    ///   - label: the op's name in reports (e.g. "v.blk.3.attn_q"); with the input shape it
    ///     identifies the plan.
    ///   - cpu: the model's own implementation, which must fill the same outputs.
    /// - Throws: ``ModelsError/backend(op:detail:)`` when the CPU path fails, or what `cpu` throws.
    func run(kind: OpKind, label: String, describe: () -> OpDescriptor,
             inputs: [HostTensor], outputs: [HostTensor], cpu: () throws -> Void) throws {
        guard let executor else {
            if profiling {
                var clock = StageClock()
                try cpu()
                record(label: label, kind: kind, backend: "cpu", seconds: clock.lap(), fellBack: false)
            } else {
                try cpu()
            }
            return
        }
        let key = label + "|" + (inputs.first?.shape.map(String.init).joined(separator: "x") ?? "")
        let planned = try plan(key: key, label: label, describe: describe, executor: executor)
        var clock = StageClock()
        if planned.placement.backend == executor.placement.cpu.name {
            try cpu()
            record(label: label, kind: kind, backend: planned.placement.backend, seconds: clock.lap(), fellBack: false)
        } else {
            let outcome = try runOnAccelerator(planned, kind: kind, inputs: inputs, outputs: outputs, cpu: cpu, executor: executor)
            record(label: label, kind: kind, backend: outcome.backend, seconds: clock.lap(), fellBack: outcome.fellBack)
        }
    }

    /// Mat-mul `output[b] = W · input[b]` for `batch` rows.
    func matMul(_ weight: WeightMatrix, label: String, input: UnsafePointer<Float>, batch: Int,
                output: UnsafeMutablePointer<Float>, cpu: () -> Void) throws {
        try run(kind: .matMul, label: label,
                describe: { OpDescriptor.matMul(label: label, weight: Self.descriptor(of: weight, name: label + ".weight"), batch: batch) },
                inputs: [HostTensor(shape: [batch, weight.columns], data: UnsafeMutableRawPointer(mutating: input))],
                outputs: [HostTensor(shape: [batch, weight.rows], data: UnsafeMutableRawPointer(output))],
                cpu: cpu)
    }

    /// LayerNorm over `rows × width`; the affine weights come from the mapped file (`tensors`).
    func layerNorm(label: String, weight: TensorDescriptor?, bias: TensorDescriptor?, eps: Float,
                   input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, rows: Int, width: Int,
                   cpu: () -> Void) throws {
        try run(kind: .layerNorm, label: label,
                describe: { OpDescriptor.norm(.layerNorm, label: label, rows: rows, width: width, eps: eps, weight: weight, bias: bias) },
                inputs: [HostTensor(shape: [rows, width], data: UnsafeMutableRawPointer(mutating: input))],
                outputs: [HostTensor(shape: [rows, width], data: UnsafeMutableRawPointer(output))],
                cpu: cpu)
    }

    /// Element-wise GELU over `rows × width`.
    func gelu(label: String, variant: Backends.GELUVariant, input: UnsafePointer<Float>,
              output: UnsafeMutablePointer<Float>, rows: Int, width: Int, cpu: () -> Void) throws {
        try run(kind: .gelu, label: label,
                describe: { OpDescriptor.gelu(label: label, shape: [rows, width], variant: variant) },
                inputs: [HostTensor(shape: [rows, width], data: UnsafeMutableRawPointer(mutating: input))],
                outputs: [HostTensor(shape: [rows, width], data: UnsafeMutableRawPointer(output))],
                cpu: cpu)
    }

    // MARK: reports

    /// Where every op planned so far runs and why (empty when only the CPU is configured).
    public func placementReport() -> PlacementReport {
        guard let executor else { return PlacementReport(backends: ["cpu"], entries: []) }
        return executor.report(for: state.withLock { $0.planOrder })
    }

    /// Run-time counters of every backend (empty when only the CPU is configured).
    public func health() -> [BackendHealth] { executor?.health() ?? [] }

    /// One line for logs and job records: ops per kind and backend, and run-time fallbacks,
    /// e.g. `matmul: reference 58; layer_norm: reference 9; gelu: cpu 3; fallbacks: reference 0`.
    public func placementSummary() -> String {
        guard executor != nil else { return "all ops: cpu" }
        var kinds: [String] = []
        var counts: [String: [String: Int]] = [:]
        for entry in placementReport().entries {
            let kind = entry.kind.description
            if counts[kind] == nil { kinds.append(kind) }
            counts[kind, default: [:]][entry.backend, default: 0] += 1
        }
        var parts = kinds.map { kind in
            kind + ": " + (counts[kind] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        let accelerators = health().filter { $0.backend != "cpu" }
        if !accelerators.isEmpty {
            parts.append("fallbacks: " + accelerators.map { "\($0.backend) \($0.fallbacks + $0.bypassed)\($0.unhealthy ? " (unhealthy)" : "")" }
                .joined(separator: ", "))
        }
        return parts.isEmpty ? "no ops yet" : parts.joined(separator: "; ")
    }

    /// Per-op time and placement since the router was made, in first-run order.
    public func profile() -> [OpProfileEntry] {
        state.withLock { s in s.profileOrder.compactMap { s.profile[$0] } }
    }

    // MARK: helpers

    /// The weight as an op descriptor tensor (`[rows, columns]`, data still in the mapped file).
    static func descriptor(of weight: WeightMatrix, name: String) -> TensorDescriptor {
        TensorDescriptor(name: name, type: weight.type, shape: [weight.rows, weight.columns], data: weight.data)
    }

    /// The named tensor of `file` as a descriptor (shape outermost first), or nil when absent.
    static func descriptor(of name: String, in file: GGUFFile) -> TensorDescriptor? {
        guard file.hasTensor(named: name), let info = try? file.tensor(named: name),
              let base = file.bytes(of: info).baseAddress else { return nil }
        return TensorDescriptor(name: name, type: info.type, shape: Array(info.shape.reversed()), data: base)
    }

    /// Every tensor of `file` whose name starts with `prefix`, as descriptors (a stage's weights).
    static func descriptors(withPrefix prefix: String, in file: GGUFFile) -> [TensorDescriptor] {
        file.tensors.filter { $0.name.hasPrefix(prefix) }.compactMap { descriptor(of: $0.name, in: file) }
    }

    private func plan(key: String, label: String, describe: () -> OpDescriptor,
                      executor: FallbackExecutor) throws -> PlannedOp {
        if let planned = state.withLock({ $0.plans[key] }) { return planned }
        let planned: PlannedOp
        do { planned = try executor.plan(describe()) } catch {
            throw ModelsError.backend(op: label, detail: error.description)
        }
        state.withLock { s in
            if s.plans[key] == nil {
                s.plans[key] = planned
                s.planOrder.append(planned)
            }
        }
        return planned
    }

    /// Runs on the planned accelerator. The accelerator always writes into scratch outputs when
    /// the op works in place (so a failed run cannot corrupt the input the CPU recomputes from)
    /// or when its bucket pads the rows; the kept rows are copied back unless the CPU took over.
    private func runOnAccelerator(_ planned: PlannedOp, kind: OpKind, inputs: [HostTensor], outputs: [HostTensor],
                                  cpu: () throws -> Void, executor: FallbackExecutor) throws -> ExecutionRecord {
        let rows = inputs.first?.shape.first ?? 0
        let paddedRows = (!kind.isStage ? planned.placement.bucket?.first : nil).map { max($0, rows) } ?? rows
        let aliased = outputs.contains { o in inputs.contains { $0.data == o.data } }
        guard paddedRows != rows || aliased else {
            return try execute(planned, inputs: inputs, outputs: outputs, cpu: cpu, executor: executor)
        }
        var scratch: [UnsafeMutableRawPointer] = []
        defer { for buffer in scratch { buffer.deallocate() } }
        func padded(_ tensor: HostTensor, copy: Bool) -> HostTensor {
            var shape = tensor.shape
            if !shape.isEmpty { shape[0] = paddedRows }
            let count = shape.reduce(1, *)
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride,
                                                          alignment: 64)
            scratch.append(buffer)
            let floats = buffer.bindMemory(to: Float.self, capacity: count)
            floats.initialize(repeating: 0, count: count)
            if copy { floats.update(from: tensor.floats, count: tensor.elementCount) }
            return HostTensor(type: tensor.type, shape: shape, data: buffer)
        }
        let paddedInputs = paddedRows == rows ? inputs : inputs.map { padded($0, copy: true) }
        let paddedOutputs = outputs.map { padded($0, copy: false) }
        let record = try execute(planned, inputs: paddedInputs, outputs: paddedOutputs, cpu: cpu, executor: executor)
        if !record.fellBack {
            for (kept, computed) in zip(outputs, paddedOutputs) {
                kept.floats.update(from: computed.floats, count: kept.elementCount)
            }
        }
        return record
    }

    private func execute(_ planned: PlannedOp, inputs: [HostTensor], outputs: [HostTensor],
                         cpu: () throws -> Void, executor: FallbackExecutor) throws -> ExecutionRecord {
        do {
            return try withoutActuallyEscaping(cpu) { cpu in
                try executor.run(planned, inputs: inputs, outputs: outputs, cpu: cpu)
            }
        } catch let error as BackendsError {
            throw ModelsError.backend(op: planned.op.label, detail: error.description)
        }
    }

    private func record(label: String, kind: OpKind, backend: String, seconds: Double, fellBack: Bool) {
        guard profiling || executor != nil else { return }
        state.withLock { s in
            if s.profile[label] == nil {
                s.profile[label] = OpProfileEntry(op: label, kind: kind)
                s.profileOrder.append(label)
            }
            s.profile[label]?.add(backend: backend, seconds: seconds, fellBack: fellBack)
        }
    }
}

/// Time and placement of one op over all its runs.
public struct OpProfileEntry: Sendable, Codable, Equatable {
    public var op: String
    public var kind: OpKind
    public var calls = 0
    public var seconds = 0.0
    /// Runs whose output came from each backend.
    public var runsByBackend: [String: Int] = [:]
    /// Runs where an accelerator failed or was bypassed and the CPU computed the output.
    public var fallbacks = 0

    public init(op: String, kind: OpKind) {
        self.op = op
        self.kind = kind
    }

    mutating func add(backend: String, seconds: Double, fellBack: Bool) {
        calls += 1
        self.seconds += seconds
        runsByBackend[backend, default: 0] += 1
        if fellBack { fallbacks += 1 }
    }
}
