import GGUF
import Synchronization

/// Runs ops on their placed backend and never lets an accelerator fail a job: when a run
/// errors, exceeds the deadline or writes non-finite values, the op is recomputed on the CPU,
/// the event is counted (and passed to `onFallback`), and after `failureThreshold` consecutive
/// failures the backend is marked unhealthy and bypassed until its cool-down ends.
public final class FallbackExecutor: Sendable {
    public let placement: BackendPlacement
    public let policy: FallbackPolicy
    let clock: any BackendClock
    let onFallback: (@Sendable (FallbackEvent) -> Void)?
    private let healthState: Mutex<[String: BackendHealth]>

    /// - Parameters:
    ///   - clock: monotonic time for deadlines and cool-downs (inject a manual clock in tests).
    ///   - onFallback: called (outside any lock) for every run-time fallback, e.g. to log it.
    public init(placement: BackendPlacement, policy: FallbackPolicy = FallbackPolicy(),
                clock: any BackendClock = SystemBackendClock(),
                onFallback: (@Sendable (FallbackEvent) -> Void)? = nil) {
        self.placement = placement
        self.policy = policy
        self.clock = clock
        self.onFallback = onFallback
        var state: [String: BackendHealth] = [:]
        for backend in placement.backends { state[backend.name] = BackendHealth(backend: backend.name) }
        self.healthState = Mutex(state)
    }

    /// Places `op` and prepares it on its backend and (when the CPU computes this kind itself)
    /// on the CPU. An accelerator that fails to prepare is skipped for this op: placement moves
    /// on to the next backend and the report says why. Never fails for accelerator reasons.
    /// - Throws: the CPU's `prepareFailed` when the op itself is malformed (e.g. a weight type
    ///   no CPU kernel handles).
    public func plan(_ op: OpDescriptor) throws(BackendsError) -> PlannedOp {
        let cpu = placement.cpu
        let cpuPrepared = cpu.canExecute(op) ? try cpu.prepare(op) : nil
        var excluded: [String: String] = [:]
        while true {
            let (backend, entry) = placement.place(op, excluding: excluded)
            if backend is CPUBackend {
                return PlannedOp(op: op, placement: entry, accelerator: nil, acceleratorPrepared: nil, cpuPrepared: cpuPrepared)
            }
            do {
                let prepared = try backend.prepare(op)
                return PlannedOp(op: op, placement: entry, accelerator: backend, acceleratorPrepared: prepared, cpuPrepared: cpuPrepared)
            } catch {
                excluded[backend.name] = "prepare failed: \(error.description)"
            }
        }
    }

    /// Runs a planned op, falling back to the CPU as described on the type.
    /// - Parameters:
    ///   - cpu: the caller's CPU implementation; it must fill `outputs`. Required for kinds the
    ///     CPU backend does not compute itself (attention, patch embedding, stages); when given
    ///     for the others it is used instead of the CPU backend's kernels.
    /// - Throws: only when the CPU path fails (bad buffers, or no CPU path for this kind).
    @discardableResult
    public func run(_ planned: PlannedOp, inputs: [HostTensor], outputs: [HostTensor],
                    cpu: (() throws -> Void)? = nil) throws(BackendsError) -> ExecutionRecord {
        let start = clock.nanoseconds()
        guard let accelerator = planned.accelerator, let prepared = planned.acceleratorPrepared else {
            try runOnCPU(planned, inputs: inputs, outputs: outputs, cpu: cpu)
            return ExecutionRecord(backend: placement.cpu.name, fellBack: false, reason: nil, nanoseconds: clock.nanoseconds() - start)
        }
        let name = accelerator.name
        if let bypassReason = checkBypass(name, now: start) {
            try runOnCPU(planned, inputs: inputs, outputs: outputs, cpu: cpu)
            return ExecutionRecord(backend: placement.cpu.name, fellBack: true, reason: bypassReason, nanoseconds: clock.nanoseconds() - start)
        }
        var failure: BackendsError?
        do {
            try accelerator.run(prepared, inputs: inputs, outputs: outputs)
            let elapsed = Double(clock.nanoseconds() - start) / 1e6
            if elapsed > policy.deadlineMilliseconds {
                failure = .deadlineExceeded(backend: name, op: planned.op.label, elapsedMilliseconds: elapsed,
                                            deadlineMilliseconds: policy.deadlineMilliseconds)
            } else if policy.checkFinite, let (output, element) = firstNonFinite(outputs) {
                failure = .nonFiniteOutput(backend: name, op: planned.op.label, output: output, element: element)
            }
        } catch {
            failure = error
        }
        guard let failure else {
            recordSuccess(name)
            return ExecutionRecord(backend: name, fellBack: false, reason: nil, nanoseconds: clock.nanoseconds() - start)
        }
        let marked = recordFailure(name, failure, now: clock.nanoseconds())
        onFallback?(FallbackEvent(backend: name, op: planned.op.label, error: failure, markedUnhealthy: marked))
        try runOnCPU(planned, inputs: inputs, outputs: outputs, cpu: cpu)
        return ExecutionRecord(backend: placement.cpu.name, fellBack: true, reason: failure.description,
                               nanoseconds: clock.nanoseconds() - start)
    }

    /// Releases what `plan` prepared.
    public func release(_ planned: PlannedOp) {
        if let accelerator = planned.accelerator, let prepared = planned.acceleratorPrepared {
            accelerator.release(prepared)
        }
        if let cpuPrepared = planned.cpuPrepared { placement.cpu.release(cpuPrepared) }
    }

    /// A snapshot of every backend's counters, in placement order.
    public func health() -> [BackendHealth] {
        let now = clock.nanoseconds()
        return healthState.withLock { state in
            placement.backends.compactMap { backend -> BackendHealth? in
                guard var h = state[backend.name] else { return nil }
                if h.unhealthy, let until = h.unhealthyUntilNanoseconds, now >= until {
                    h.unhealthy = false  // cool-down over: shown as it will be treated
                }
                return h
            }
        }
    }

    /// The placement report of planned ops (what `--json` prints).
    public func report(for planned: [PlannedOp]) -> PlacementReport {
        PlacementReport(backends: placement.backends.map(\.name), entries: planned.map(\.placement))
    }

    private func runOnCPU(_ planned: PlannedOp, inputs: [HostTensor], outputs: [HostTensor],
                          cpu: (() throws -> Void)?) throws(BackendsError) {
        // The caller's CPU code wins when given: it is the model's own path (with its own
        // numerics, e.g. llama.cpp-compatible products), so a fallback reproduces a CPU-only run.
        if cpu == nil, let prepared = planned.cpuPrepared {
            try placement.cpu.run(prepared, inputs: inputs, outputs: outputs)
            return
        }
        guard let cpu else {
            throw .notExecutable(backend: placement.cpu.name, op: planned.op.label,
                                 reason: "\(planned.op.kind) needs the caller's CPU implementation (the cpu: closure)")
        }
        do {
            try cpu()
        } catch let error as BackendsError {
            throw error
        } catch {
            throw .runFailed(backend: placement.cpu.name, op: planned.op.label, message: "\(error)")
        }
    }

    /// Returns why `name` is bypassed now (and counts it), or nil when it may run; ends an
    /// expired cool-down.
    private func checkBypass(_ name: String, now: UInt64) -> String? {
        healthState.withLock { state in
            guard var h = state[name], h.unhealthy else { return nil }
            if let until = h.unhealthyUntilNanoseconds, now >= until {
                h.unhealthy = false
                h.unhealthyUntilNanoseconds = nil
                h.consecutiveFailures = 0
                state[name] = h
                return nil
            }
            h.bypassed += 1
            state[name] = h
            return "\(name) is unhealthy (cool-down) after \(policy.failureThreshold) consecutive failures"
        }
    }

    private func recordSuccess(_ name: String) {
        healthState.withLock { state in
            state[name, default: BackendHealth(backend: name)].runs += 1
            state[name]?.successes += 1
            state[name]?.consecutiveFailures = 0
        }
    }

    /// Counts a failure; returns true when it marked the backend unhealthy.
    private func recordFailure(_ name: String, _ error: BackendsError, now: UInt64) -> Bool {
        healthState.withLock { state in
            var h = state[name] ?? BackendHealth(backend: name)
            h.runs += 1
            h.fallbacks += 1
            switch error {
            case .deadlineExceeded: h.timeouts += 1
            case .nonFiniteOutput: h.nonFinite += 1
            default: h.errors += 1
            }
            h.consecutiveFailures += 1
            h.lastError = error.description
            var marked = false
            if h.consecutiveFailures >= policy.failureThreshold && !h.unhealthy {
                h.unhealthy = true
                h.unhealthyUntilNanoseconds = now + UInt64(policy.coolDownMilliseconds * 1e6)
                h.timesMarkedUnhealthy += 1
                marked = true
            }
            state[name] = h
            return marked
        }
    }

    /// The first NaN/infinity among F32 outputs, as (output index, element index).
    private func firstNonFinite(_ outputs: [HostTensor]) -> (Int, Int)? {
        for (o, tensor) in outputs.enumerated() where tensor.type == .f32 {
            let values = UnsafeBufferPointer(start: tensor.floats, count: tensor.elementCount)
            if let i = values.firstIndex(where: { !$0.isFinite }) { return (o, i) }
        }
        return nil
    }
}
