import Synchronization

/// Group commit: callers hand in one item each and are answered once the batch holding their
/// item is written. An item that arrives while `writers` batches are being written waits and
/// goes with every other waiting item in the next batch, so under load one statement serves
/// many callers, and at low load an item is written at once (there is no timer to wait for).
///
/// A batch holds each `key` at most once (a second item with the same key waits for the next
/// batch) and items of total `weight` at most `maxWeight`, except that a batch always takes its
/// first item, however heavy. `write` gets the batch and must answer one value per item, in
/// order; when it throws, every caller in the batch gets the error. Used for heartbeats and
/// result uploads (`CoordinatorCore`).
final class GroupCommit<Item: Sendable, Answer: Sendable>: Sendable {
    typealias Write = @Sendable ([Item]) async throws -> [Answer]

    private struct Pending: Sendable {
        let item: Item
        let continuation: CheckedContinuation<Answer, any Error>
    }

    private struct State: Sendable {
        var pending: [Pending] = []
        var writers = 0
    }

    private let state = Mutex(State())
    private let maxWriters: Int
    private let maxWeight: Int
    private let key: @Sendable (Item) -> String
    private let weight: @Sendable (Item) -> Int
    private let write: Write
    private let onBatch: @Sendable (Int) -> Void

    /// `writers`: batches written at once (1 suits SQLite's single connection; a PostgreSQL pool
    /// overlaps round trips with more); `maxWeight`: total weight per batch; `onBatch` is told
    /// the size of every batch before it is written (metrics).
    init(writers: Int, maxWeight: Int, key: @escaping @Sendable (Item) -> String,
         weight: @escaping @Sendable (Item) -> Int = { _ in 1 }, onBatch: @escaping @Sendable (Int) -> Void = { _ in },
         write: @escaping Write) {
        self.maxWriters = max(1, writers)
        self.maxWeight = max(1, maxWeight)
        self.key = key
        self.weight = weight
        self.onBatch = onBatch
        self.write = write
    }

    /// Writes `item` with the next batch and returns its answer; throws what `write` threw for
    /// that batch, or `CoordinatorError(.database)` when `write` answered the wrong count.
    func submit(_ item: Item) async throws -> Answer {
        try await withCheckedThrowingContinuation { continuation in
            let startWriter = state.withLock { state -> Bool in
                state.pending.append(Pending(item: item, continuation: continuation))
                guard state.writers < maxWriters else { return false }
                state.writers += 1
                return true
            }
            if startWriter {
                Task { await self.drain() }
            }
        }
    }

    /// Writes batches until nothing waits, then retires this writer.
    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Pending] in
                var seen = Set<String>()
                var taken: [Pending] = []
                var rest: [Pending] = []
                var total = 0
                for pending in state.pending {
                    let itemWeight = weight(pending.item)
                    if taken.isEmpty || total + itemWeight <= maxWeight, seen.insert(key(pending.item)).inserted {
                        taken.append(pending)
                        total += itemWeight
                    } else {
                        rest.append(pending)
                    }
                }
                state.pending = rest
                if taken.isEmpty { state.writers -= 1 }
                return taken
            }
            if batch.isEmpty { return }
            onBatch(batch.count)
            do {
                let answers = try await write(batch.map(\.item))
                guard answers.count == batch.count else {
                    throw CoordinatorError(.database, "group commit: \(answers.count) answers for \(batch.count) items")
                }
                for (pending, answer) in zip(batch, answers) { pending.continuation.resume(returning: answer) }
            } catch {
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
    }
}
