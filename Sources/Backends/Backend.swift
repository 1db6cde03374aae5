import Kernels

/// A compute backend: the CPU, or an accelerator delegate. Placement asks `supports` at plan
/// time; the op is then prepared once and run many times over host buffers.
public protocol Backend: Sendable {
    /// Short stable name for reports and logs ("cpu", "reference", "rknn").
    var name: String { get }
    /// Capability query: true when this backend can prepare and run `op` with its types and
    /// shapes. Cheap; called once per op at plan time.
    func supports(_ op: OpDescriptor) -> Bool
    /// Static input shapes the backend compiled `kind` for; empty means any shape it claims.
    func shapeBuckets(for kind: OpKind) -> [ShapeBucket]
    /// Prepares `op` for repeated runs (compile, upload weights).
    /// - Throws: `BackendsError.prepareFailed` or `.notExecutable`.
    func prepare(_ op: OpDescriptor) throws(BackendsError) -> PreparedOp
    /// Runs a prepared op: reads `inputs`, writes `outputs` (in the descriptor's order).
    /// - Throws: `BackendsError.runFailed` or `.invalidTensors`.
    func run(_ prepared: PreparedOp, inputs: [HostTensor], outputs: [HostTensor]) throws(BackendsError)
    /// Frees what `prepare` made; the prepared op must not be run afterwards.
    func release(_ prepared: PreparedOp)
}

/// An op prepared on one backend. Opaque to callers; pass it back to the backend that made it.
public final class PreparedOp: @unchecked Sendable {
    // @unchecked: the stored pointers are immutable after init; the memory they designate is
    // owned by the backend, which serialises access to it.
    public let op: OpDescriptor
    /// Name of the backend that prepared it.
    public let backendName: String
    /// The delegate's handle (nil on the CPU).
    let handle: UnsafeMutableRawPointer?
    /// The CPU's weight view for mat-mul.
    let cpuWeight: WeightMatrix?

    init(op: OpDescriptor, backendName: String, handle: UnsafeMutableRawPointer? = nil, cpuWeight: WeightMatrix? = nil) {
        self.op = op
        self.backendName = backendName
        self.handle = handle
        self.cpuWeight = cpuWeight
    }
}
