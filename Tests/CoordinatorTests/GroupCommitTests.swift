@testable import Coordinator
import Synchronization
import Testing

/// The group-commit skeleton on its own: batching while a write runs, per-batch key and weight
/// limits, answers in order, errors to every caller of the failed batch. (Heartbeat and upload
/// paths run it over real stores in `HeartbeatPathTests` / `UploadPathTests`.)
@Suite("Group commit")
struct GroupCommitTests {
    struct Item: Sendable {
        var key: String
        var weight = 1
    }

    /// Batches written so far (keys per batch); a gate holds the first write until opened.
    final class Recorder: Sendable {
        let batches = Mutex<[[String]]>([])
        let gate: AsyncStream<Void>
        let open: AsyncStream<Void>.Continuation
        let started: AsyncStream<Void>
        let startedSignal: AsyncStream<Void>.Continuation

        init() {
            (gate, open) = AsyncStream.makeStream(of: Void.self)
            (started, startedSignal) = AsyncStream.makeStream(of: Void.self)
        }

        /// Records the batch; the first call waits until `open` is yielded.
        func write(_ items: [Item]) async throws -> [String] {
            let first = batches.withLock { batches in
                batches.append(items.map(\.key))
                return batches.count == 1
            }
            if first {
                startedSignal.yield()
                for await _ in gate { break }
            }
            if items.contains(where: { $0.key == "boom" }) { throw CoordinatorError(.database, "boom") }
            return items.map { "ok:\($0.key)" }
        }
    }

    func commit(_ recorder: Recorder, writers: Int = 1, maxWeight: Int = 100) -> GroupCommit<Item, String> {
        GroupCommit(writers: writers, maxWeight: maxWeight, key: { $0.key }, weight: { $0.weight },
                    write: { try await recorder.write($0) })
    }

    @Test("items arriving during a write go together in the next batch; each caller gets its own answer")
    func batchesWhileWriting() async throws {
        let recorder = Recorder()
        let commit = commit(recorder)
        async let first = commit.submit(Item(key: "a"))
        for await _ in recorder.started { break }
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for key in ["b", "c", "d", "e"] { group.addTask { try await commit.submit(Item(key: key)) } }
            // Let all four queue behind the held write before releasing it.
            try await Task.sleep(for: .milliseconds(200))
            recorder.open.yield()
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(try await first == "ok:a")
        #expect(answers.sorted() == ["ok:b", "ok:c", "ok:d", "ok:e"])
        let batches = recorder.batches.withLock { $0 }
        #expect(batches.count == 2 && batches[0] == ["a"] && batches[1].sorted() == ["b", "c", "d", "e"])
    }

    @Test("a key at most once per batch, weight capped, a heavy first item still goes alone")
    func limits() async throws {
        let recorder = Recorder()
        let commit = commit(recorder, maxWeight: 10)
        async let first = commit.submit(Item(key: "hold"))
        for await _ in recorder.started { break }
        let items = [Item(key: "x", weight: 4), Item(key: "x", weight: 1), Item(key: "y", weight: 4),
                     Item(key: "z", weight: 4), Item(key: "big", weight: 50)]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, item) in items.enumerated() {
                group.addTask { _ = try await commit.submit(item) }
                // Queue in this order (the batch takes waiting items first come, first served).
                try await Task.sleep(for: .milliseconds(30 + index))
            }
            recorder.open.yield()
            try await group.waitForAll()
        }
        _ = try await first
        let batches = recorder.batches.withLock { $0 }
        // After "hold": x(4)+y(4) = 8, the second x must wait, z would make 12; then x+z; then big alone.
        #expect(batches == [["hold"], ["x", "y"], ["x", "z"], ["big"]])
    }

    @Test("a failed write fails every caller in its batch, not the next batch")
    func errors() async throws {
        let recorder = Recorder()
        let commit = commit(recorder)
        async let first = commit.submit(Item(key: "hold"))
        for await _ in recorder.started { break }
        let outcomes = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            for key in ["boom", "b"] {
                group.addTask {
                    do {
                        _ = try await commit.submit(Item(key: key))
                        return (key, true)
                    } catch let error as CoordinatorError {
                        #expect(error.message == "boom")
                        return (key, false)
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(200))
            recorder.open.yield()
            return try await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
        }
        _ = try await first
        #expect(outcomes == ["boom": false, "b": false])
        #expect(try await commit.submit(Item(key: "after")) == "ok:after")
    }
}
