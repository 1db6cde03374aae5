import ReferenceDelegateBuilder
import Backends
import GGUF
import Kernels
import Synchronization
import Testing

/// Fault injection through the reference delegate: every failure is recomputed on the CPU,
/// the output equals the CPU-only output, and the counters say what happened.
@Suite struct FallbackTests {
    /// Plans a Q8_0 mat-mul on `delegate:<lib>,<options>` and returns the executor, plan and fixture.
    static func setUp(options: String, policy: FallbackPolicy = FallbackPolicy(), clock: any BackendClock = SystemBackendClock(),
                      events: EventLog? = nil) throws -> (FallbackExecutor, PlannedOp, MatMulFixture) {
        let paths = try ReferenceDelegateLibrary.paths()
        let placement = try BackendPlacement.fromConfiguration(["delegate:\(paths.good)" + (options.isEmpty ? "" : ",\(options)")],
                                                               cpu: CPUBackend(pool: ThreadPool(threadCount: 1)))
        let executor = FallbackExecutor(placement: placement, policy: policy, clock: clock,
                                        onFallback: { event in events?.append(event) })
        let fixture = MatMulFixture(type: .q8_0, batch: 2, seed: 42)
        let planned = try executor.plan(fixture.op)
        #expect(planned.placement.backend == "reference")
        return (executor, planned, fixture)
    }

    /// What the CPU alone computes for the fixture.
    static func cpuOutput(_ fixture: MatMulFixture) throws -> [Float] {
        let cpu = CPUBackend(pool: ThreadPool(threadCount: 1))
        let output = fixture.output()
        try cpu.run(try cpu.prepare(fixture.op), inputs: [fixture.input.tensor([fixture.batch, fixture.columns])],
                    outputs: [output.tensor([fixture.batch, fixture.rows])])
        return output.values
    }

    static func run(_ executor: FallbackExecutor, _ planned: PlannedOp, _ fixture: MatMulFixture) throws -> (ExecutionRecord, [Float]) {
        let output = fixture.output()
        let record = try executor.run(planned, inputs: [fixture.input.tensor([fixture.batch, fixture.columns])],
                                      outputs: [output.tensor([fixture.batch, fixture.rows])])
        return (record, output.values)
    }

    static func delegateHealth(_ executor: FallbackExecutor) throws -> BackendHealth {
        try #require(executor.health().first { $0.backend == "reference" })
    }

    @Test func healthyDelegateKeepsItsOutput() throws {
        let (executor, planned, fixture) = try Self.setUp(options: "")
        let (record, values) = try Self.run(executor, planned, fixture)
        #expect(record.backend == "reference" && !record.fellBack)
        let cpu = try Self.cpuOutput(fixture)
        #expect(maxAbsDifference(values, cpu) / rms(cpu) <= 2e-2)
        let health = try Self.delegateHealth(executor)
        #expect(health.runs == 1 && health.successes == 1 && health.failures == 0 && health.fallbacks == 0)
    }

    @Test func errorOnNthCallFallsBack() throws {
        let events = EventLog()
        let (executor, planned, fixture) = try Self.setUp(options: "fail_on_call=2", events: events)
        let cpu = try Self.cpuOutput(fixture)
        let first = try Self.run(executor, planned, fixture)
        let second = try Self.run(executor, planned, fixture)
        let third = try Self.run(executor, planned, fixture)
        #expect(!first.0.fellBack && !third.0.fellBack)
        #expect(second.0.fellBack && second.0.backend == "cpu")
        #expect(second.0.reason?.contains("injected failure on call 2") == true)
        #expect(second.1 == cpu)
        let health = try Self.delegateHealth(executor)
        #expect(health.runs == 3 && health.successes == 2 && health.errors == 1 && health.fallbacks == 1)
        #expect(health.consecutiveFailures == 0 && !health.unhealthy)
        #expect(events.count == 1)
    }

    @Test func nonFiniteOutputFallsBack() throws {
        let (executor, planned, fixture) = try Self.setUp(options: "nan_on_call=1")
        let (record, values) = try Self.run(executor, planned, fixture)
        #expect(record.fellBack)
        #expect(values.allSatisfy { $0.isFinite })
        #expect(values == (try Self.cpuOutput(fixture)))
        let health = try Self.delegateHealth(executor)
        #expect(health.nonFinite == 1 && health.fallbacks == 1 && health.errors == 0)
    }

    @Test func deadlineExceededFallsBack() throws {
        // The delegate sleeps 60 ms per call; the deadline is 5 ms (a slower machine only
        // makes the call later, never earlier).
        let (executor, planned, fixture) = try Self.setUp(options: "sleep_ms=60", policy: FallbackPolicy(deadlineMilliseconds: 5))
        let (record, values) = try Self.run(executor, planned, fixture)
        #expect(record.fellBack)
        #expect(record.reason?.contains("deadline") == true)
        #expect(values == (try Self.cpuOutput(fixture)))
        let health = try Self.delegateHealth(executor)
        #expect(health.timeouts == 1 && health.fallbacks == 1)
    }

    @Test func consecutiveFailuresMarkUnhealthyUntilCoolDownEnds() throws {
        let clock = ManualClock()
        let policy = FallbackPolicy(failureThreshold: 3, coolDownMilliseconds: 1000)
        let (executor, planned, fixture) = try Self.setUp(options: "fail_after=0", policy: policy, clock: clock)
        let cpu = try Self.cpuOutput(fixture)
        for _ in 0..<3 {
            let (record, values) = try Self.run(executor, planned, fixture)
            #expect(record.fellBack && values == cpu)
        }
        var health = try Self.delegateHealth(executor)
        #expect(health.unhealthy && health.timesMarkedUnhealthy == 1 && health.errors == 3)

        // Bypassed: the delegate is not called.
        clock.advance(milliseconds: 999)
        let (bypassed, bypassedValues) = try Self.run(executor, planned, fixture)
        #expect(bypassed.fellBack && bypassed.reason?.contains("unhealthy") == true && bypassedValues == cpu)
        health = try Self.delegateHealth(executor)
        #expect(health.bypassed == 1 && health.runs == 3)

        // Cool-down over: tried again (and fails again, once, without being re-marked yet).
        clock.advance(milliseconds: 2)
        #expect(try !Self.delegateHealth(executor).unhealthy)
        let (retried, _) = try Self.run(executor, planned, fixture)
        #expect(retried.fellBack)
        health = try Self.delegateHealth(executor)
        #expect(health.runs == 4 && health.consecutiveFailures == 1 && !health.unhealthy && health.timesMarkedUnhealthy == 1)
    }

    @Test func successResetsTheConsecutiveCount() throws {
        let clock = ManualClock()
        let (executor, planned, fixture) = try Self.setUp(options: "fail_on_call=1", policy: FallbackPolicy(failureThreshold: 2), clock: clock)
        _ = try Self.run(executor, planned, fixture)
        _ = try Self.run(executor, planned, fixture)
        let health = try Self.delegateHealth(executor)
        #expect(health.consecutiveFailures == 0 && health.errors == 1 && health.successes == 1 && !health.unhealthy)
    }

    @Test func stageOnCPUUsesCallerClosure() throws {
        let paths = try ReferenceDelegateLibrary.paths()
        let executor = FallbackExecutor(placement: try BackendPlacement.fromConfiguration(["delegate:\(paths.good)"]))
        let op = OpDescriptor(kind: .visionEncoder, label: "vision",
                              inputs: [TensorDescriptor(name: "pixels", type: .f32, shape: [3, 14, 14])],
                              outputs: [TensorDescriptor(name: "embeddings", type: .f32, shape: [1, 4])])
        let planned = try executor.plan(op)
        #expect(planned.placement.backend == "cpu")
        let input = FloatBuffer(zeros: 3 * 14 * 14)
        let output = FloatBuffer(zeros: 4)
        let record = try executor.run(planned, inputs: [input.tensor([3, 14, 14])], outputs: [output.tensor([1, 4])]) {
            for i in 0..<4 { output.pointer[i] = Float(i) }
        }
        #expect(record.backend == "cpu" && !record.fellBack && output.values == [0, 1, 2, 3])
        #expect(throws: BackendsError.self) {
            try executor.run(planned, inputs: [input.tensor([3, 14, 14])], outputs: [output.tensor([1, 4])])
        }
    }
}

/// Fallback events collected by `onFallback`.
final class EventLog: Sendable {
    private let events = Mutex<[FallbackEvent]>([])
    func append(_ event: FallbackEvent) { events.withLock { $0.append(event) } }
    var count: Int { events.withLock { $0.count } }
}
