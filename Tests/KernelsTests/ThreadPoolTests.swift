import Kernels
import Synchronization
import Testing

@Suite struct ThreadPoolTests {
    @Test(arguments: [1, 2, 3, 5])
    func everyIndexRunsExactlyOnce(threads: Int) {
        let pool = ThreadPool(threadCount: threads)
        for count in [1, 2, 7, 100, 1001] {
            for minimumChunk in [1, 16] {
                let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
                hits.initialize(repeating: 0, count: count)
                defer { hits.deallocate() }
                let calls = Atomic<Int>(0)
                pool.parallelFor(count, minimumChunk: minimumChunk) { range in
                    calls.add(1, ordering: .relaxed)
                    for i in range { hits[i] += 1 }
                }
                #expect((0..<count).allSatisfy { hits[$0] == 1 }, "count \(count) chunk \(minimumChunk)")
                #expect(calls.load(ordering: .relaxed) >= 1)
            }
        }
    }

    @Test func manyLoopsInARow() {
        let pool = ThreadPool(threadCount: 3)
        let total = Atomic<Int>(0)
        for _ in 0..<500 {
            pool.parallelFor(64) { range in total.add(range.count, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == 500 * 64)
    }

    @Test func emptyLoopDoesNothing() {
        let pool = ThreadPool(threadCount: 2)
        pool.parallelFor(0) { _ in Issue.record("body ran for an empty range") }
    }
}
