import CKernels
import Dispatch
import GGUF
import Testing
@testable import Kernels

/// Tests compare kernel levels while other tests run kernels in the same process. A level
/// chosen with `withISA` holds for the calling thread and the pool loops it starts, and for no
/// other thread. (A process-wide switch once made a bit-exact test beside it fail, and refilling
/// the live table in place crashed CI: `scripts/checks/kernel-dispatch.sh` covers that race.)
@Suite struct KernelLevelSwitchTests {
    @Test func threadLevelCoversItsPoolLoopsOnly() throws {
        let pool = ThreadPool(threadCount: 3)
        let seen = LevelRecord(count: 64)
        KernelsInfo.withISA(.scalar) { chosen in
            #expect(chosen == .scalar)
            #expect(KernelsInfo.currentISA == .scalar)
            pool.parallelFor(64) { range in
                for i in range { seen.set(i, ck_isa_current()) }
            }
            // Another thread keeps the process-wide level.
            let other = LevelRecord(count: 1)
            let done = DispatchGroup()
            DispatchQueue.global().async(group: done) { other.set(0, ck_isa_current()) }
            done.wait()
            #expect(other.value(0) == KernelsInfo.bestISA.rawValue)
        }
        #expect((0..<64).allSatisfy { seen.value($0) == KernelISA.scalar.rawValue })
        #expect(KernelsInfo.currentISA == KernelsInfo.bestISA)
        // The pool's workers follow the process-wide level again.
        pool.parallelFor(64) { range in
            for i in range { seen.set(i, ck_isa_current()) }
        }
        #expect((0..<64).allSatisfy { seen.value($0) == KernelsInfo.bestISA.rawValue })
    }

    /// At the scalar level every row is one scalar block dot product: the pool's product equals
    /// the single-threaded scalar twin bit for bit, which the best level's tiles do not promise.
    @Test func scalarLevelProductEqualsItsTwinOnAllThreads() throws {
        var rng = SeededGenerator(seed: 9)
        let rows = 67, columns = 256, batch = 3
        let bytes = randomWeightBytes(.q4_0, rows: rows, columns: columns, rng: &rng)
        let input = rng.floats(batch * columns)
        var twin = [Float](repeating: 0, count: batch * rows)
        var fast = [Float](repeating: .nan, count: batch * rows)
        let pool = ThreadPool(threadCount: 3)
        try bytes.withUnsafeBytes { raw in
            let weight = try WeightMatrix(type: .q4_0, rows: rows, columns: columns, data: raw.baseAddress!)
            MatMul.computeQuantizedReference(weight: weight, input: input, batch: batch, output: &twin)
            KernelsInfo.withISA(.scalar) { _ in
                MatMul.computeQuantized(weight: weight, input: input, batch: batch, output: &fast, pool: pool)
            }
        }
        #expect(fast.map(\.bitPattern) == twin.map(\.bitPattern))
    }
}

/// Values written by pool workers (one index each), read after the loop returned.
private final class LevelRecord: @unchecked Sendable {
    private var values: [Int32]
    init(count: Int) { values = [Int32](repeating: -2, count: count) }
    func set(_ index: Int, _ value: Int32) { values[index] = value }
    func value(_ index: Int) -> Int32 { values[index] }
}
