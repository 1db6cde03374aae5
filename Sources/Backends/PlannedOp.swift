/// An op placed and prepared by `FallbackExecutor.plan`: its chosen backend (with the prepared
/// op) and the CPU preparation used for fallback.
public final class PlannedOp: Sendable {
    public let op: OpDescriptor
    /// The placement decision (backend and reason), for the placement report.
    public let placement: PlacementReport.Entry
    /// The accelerator and its prepared op, or nil when the op is placed on the CPU.
    let accelerator: (any Backend)?
    let acceleratorPrepared: PreparedOp?
    /// The CPU backend's prepared op, or nil for kinds the CPU runs in the caller's code.
    let cpuPrepared: PreparedOp?

    init(op: OpDescriptor, placement: PlacementReport.Entry, accelerator: (any Backend)?,
         acceleratorPrepared: PreparedOp?, cpuPrepared: PreparedOp?) {
        self.op = op
        self.placement = placement
        self.accelerator = accelerator
        self.acceleratorPrepared = acceleratorPrepared
        self.cpuPrepared = cpuPrepared
    }
}

/// What happened when an op ran.
public struct ExecutionRecord: Sendable, Equatable {
    /// The backend whose output was kept.
    public var backend: String
    /// True when an accelerator failed (or was bypassed) and the CPU computed the output.
    public var fellBack: Bool
    /// Why the CPU took over, when it did.
    public var reason: String?
    /// Wall time of the whole call (including any fallback), nanoseconds.
    public var nanoseconds: UInt64
}

/// A run-time fallback event, for logs.
public struct FallbackEvent: Sendable {
    public var backend: String
    public var op: String
    public var error: BackendsError
    /// True when this failure made the backend unhealthy.
    public var markedUnhealthy: Bool
}
