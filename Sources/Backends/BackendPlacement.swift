/// The ordered backend list: accelerators in priority order, the CPU always last and complete.
/// Each op goes to the first backend that claims it (`supports`, and a fitting shape bucket
/// when the backend declared buckets for the op's kind), as in ggml's scheduler.
public struct BackendPlacement: Sendable {
    /// Backends in priority order; the last is `cpu`.
    public let backends: [any Backend]
    /// The complete CPU backend (also `backends.last`).
    public let cpu: CPUBackend

    /// A placement over `accelerators` (in priority order) followed by `cpu`.
    public init(accelerators: [any Backend], cpu: CPUBackend = CPUBackend()) {
        self.backends = accelerators.filter { !($0 is CPUBackend) } + [cpu]
        self.cpu = cpu
    }

    /// Builds the list from configuration strings (`cpu`, `delegate:/path/lib.so[,k=v...]`),
    /// loading every delegate. A `cpu` entry anywhere is accepted; the CPU always ends the list.
    /// - Throws: `.invalidConfiguration` for an unknown form, and any `DelegateBackend.init`
    ///   error (missing file, missing symbol, ABI mismatch, init failure).
    public static func fromConfiguration(_ entries: [String], cpu: CPUBackend = CPUBackend()) throws(BackendsError) -> BackendPlacement {
        var accelerators: [any Backend] = []
        for entry in entries {
            switch try BackendConfiguration(parsing: entry) {
            case .cpu: continue
            case let .delegate(path, options): accelerators.append(try DelegateBackend(path: path, options: options))
            }
        }
        return BackendPlacement(accelerators: accelerators, cpu: cpu)
    }

    /// Chooses the backend for `op`, skipping those whose names are in `excluding` (e.g.
    /// backends that failed to prepare it). The CPU is never excluded.
    /// - Returns: the backend and the report entry explaining the choice.
    public func place(_ op: OpDescriptor, excluding: [String: String] = [:]) -> (backend: any Backend, entry: PlacementReport.Entry) {
        var declined: [PlacementReport.Declined] = []
        for backend in backends.dropLast() {
            if let why = excluding[backend.name] {
                declined.append(.init(backend: backend.name, reason: why))
                continue
            }
            guard backend.supports(op) else {
                declined.append(.init(backend: backend.name, reason: "does not support \(op.kind) with these types/shapes"))
                continue
            }
            let buckets = backend.shapeBuckets(for: op.kind)
            var bucket: [Int]?
            if !buckets.isEmpty {
                let shape = op.inputs.first?.shape ?? []
                guard let fit = ShapeBucket.smallest(in: buckets, containing: shape) else {
                    declined.append(.init(backend: backend.name, reason: "no shape bucket contains \(shape)"))
                    continue
                }
                // Fine ops are padded along their rows; a stage's input (an image slice) would need
                // masks through the whole network, so a stage runs only at a bucket's exact shape.
                if op.kind.isStage && fit.shape != shape {
                    declined.append(.init(backend: backend.name,
                                          reason: "stage input \(shape) is not one of its static shapes (stages are not padded)"))
                    continue
                }
                bucket = fit.shape
            }
            let reason = "claimed by \(backend.name)" + (bucket.map { " (padded to bucket \($0))" } ?? "")
            return (backend, .init(op: op.label, kind: op.kind, backend: backend.name, reason: reason,
                                   declined: declined, bucket: bucket))
        }
        let reason = declined.isEmpty ? "cpu is the only backend" : "no accelerator claimed it; cpu is complete"
        return (cpu, .init(op: op.label, kind: op.kind, backend: cpu.name, reason: reason, declined: declined, bucket: nil))
    }

    /// The placement of every op in `ops`, without preparing anything.
    public func report(for ops: [OpDescriptor]) -> PlacementReport {
        PlacementReport(backends: backends.map(\.name), entries: ops.map { place($0).entry })
    }
}
