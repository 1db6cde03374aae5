#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CKernels
import Synchronization

/// A fixed set of persistent worker threads that run data-parallel loops.
///
/// `parallelFor` splits `0..<count` into contiguous chunks that the workers and the calling
/// thread claim until none are left, and returns when all have finished. Each index is handled
/// by exactly one thread and the chunk a thread gets does not change what is computed, so
/// kernels built on it give bit-identical results for any thread count.
///
/// Workers spin briefly after a loop (decoding issues loops back to back), then sleep on a
/// condition variable. The hot path does not allocate. One pool runs one loop at a time:
/// calling `parallelFor` from two threads at once, or from inside a loop body, is a
/// programming error (the second call waits for the first).
public final class ThreadPool: @unchecked Sendable {
    /// Threads that run loop bodies, including the calling thread.
    public let threadCount: Int

    /// The machine's active processor count.
    public static var defaultThreadCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let callerLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var threads: [pthread_t] = []

    /// Bumped (under `mutex`) for every loop; workers compare it with the one they last ran.
    private let generation = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(0)
    private let unfinished = Atomic<Int>(0)
    private var stopping = false

    // The current loop; written by the caller before `generation` is bumped.
    private var body: ((Range<Int>) -> Void)?
    private var indexedBody: ((Range<Int>, Int) -> Void)?
    private var count = 0
    private var chunkSize = 1
    private var chunkCount = 0
    /// The caller's own kernel level (`ck_isa_thread`, -1: the process-wide one); workers take
    /// it for the loop, so a test's `KernelsInfo.withISA` covers the loops it starts.
    private var callerISA: Int32 = -1

    /// Scratch memory reused by kernels run on this pool (see `scratch(bytes:)`).
    private var scratchBuffer: UnsafeMutableRawPointer?
    private var scratchCapacity = 0
    private var threadScratch: [UnsafeMutableRawPointer?]
    private var threadScratchCapacity: [Int]

    /// Starts `threadCount - 1` workers (the calling thread is the last one).
    /// - Parameter threadCount: clamped to at least 1.
    public init(threadCount: Int = ThreadPool.defaultThreadCount) {
        self.threadCount = max(1, threadCount)
        threadScratch = Array(repeating: nil, count: self.threadCount)
        threadScratchCapacity = Array(repeating: 0, count: self.threadCount)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_mutex_init(callerLock, nil)
        for index in 1..<self.threadCount {
            let context = Unmanaged.passRetained(WorkerContext(pool: self, index: index))
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                #if canImport(Glibc)
                let unmanaged = Unmanaged<WorkerContext>.fromOpaque(raw!)
                #else
                let unmanaged = Unmanaged<WorkerContext>.fromOpaque(raw)
                #endif
                let context = unmanaged.takeRetainedValue()
                context.pool.workerLoop(index: context.index)
                return nil
            }, context.toOpaque())
            if status == 0 { threads.append(thread) } else { context.release() }
        }
    }

    deinit {
        pthread_mutex_lock(mutex)
        stopping = true
        generation.add(1, ordering: .sequentiallyConsistent)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for thread in threads { pthread_join(thread, nil) }
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(callerLock)
        mutex.deallocate()
        wake.deallocate()
        callerLock.deallocate()
        scratchBuffer?.deallocate()
        for buffer in threadScratch { buffer?.deallocate() }
    }

    /// Runs `body` over contiguous chunks covering `0..<count` on all threads of the pool and
    /// returns when every chunk is done. `minimumChunk` bounds how finely the range is cut.
    /// Chunk boundaries depend only on `count` and `minimumChunk`, not on the thread count.
    public func parallelFor(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        if threads.isEmpty || count <= minimumChunk {
            let size = Self.chunkSize(count: count, minimumChunk: minimumChunk)
            for start in stride(from: 0, to: count, by: size) { body(start..<min(count, start + size)) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            run(count: count, minimumChunk: minimumChunk, body: escaping, indexedBody: nil)
        }
    }

    /// Like `parallelFor`, and also passes the index (0..<threadCount) of the thread running
    /// the chunk, for per-thread scratch memory.
    func parallelForIndexed(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>, Int) -> Void) {
        guard count > 0 else { return }
        if threads.isEmpty || count <= minimumChunk {
            let size = Self.chunkSize(count: count, minimumChunk: minimumChunk)
            for start in stride(from: 0, to: count, by: size) { body(start..<min(count, start + size), 0) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            run(count: count, minimumChunk: minimumChunk, body: nil, indexedBody: escaping)
        }
    }

    private func run(count: Int, minimumChunk: Int, body: ((Range<Int>) -> Void)?,
                     indexedBody: ((Range<Int>, Int) -> Void)?) {
        let workers = threads.count
        pthread_mutex_lock(callerLock)
        defer { pthread_mutex_unlock(callerLock) }
        let size = Self.chunkSize(count: count, minimumChunk: minimumChunk)
        self.body = body
        self.indexedBody = indexedBody
        self.count = count
        self.chunkSize = size
        self.chunkCount = (count + size - 1) / size
        self.callerISA = ck_isa_thread()
        nextChunk.store(0, ordering: .relaxed)
        unfinished.store(workers, ordering: .relaxed)
        pthread_mutex_lock(mutex)
        generation.add(1, ordering: .sequentiallyConsistent)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        runChunks(threadIndex: 0)
        var spins = 0
        while unfinished.load(ordering: .acquiring) > 0 {
            spins += 1
            if spins > 2000 { sched_yield() } else { ck_cpu_relax() }
        }
        self.body = nil
        self.indexedBody = nil
    }

    /// Chunk length for `count` items: about 32 chunks (so threads slowed down by other
    /// processes are helped out), at least `minimumChunk`. It depends only on the arguments,
    /// never on the thread count, so kernels whose rounding depends on chunk boundaries
    /// (SGEMM panels) stay deterministic.
    static func chunkSize(count: Int, minimumChunk: Int) -> Int {
        max(max(1, minimumChunk), (count + 31) / 32)
    }

    /// Per-thread scratch of at least `bytes` bytes for thread `index` (0 = caller), 64-byte
    /// aligned, kept between calls. Only valid inside a loop body run by that thread.
    func threadScratch(_ index: Int, bytes: Int) -> UnsafeMutableRawPointer {
        if threadScratchCapacity[index] < bytes {
            threadScratch[index]?.deallocate()
            threadScratch[index] = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            threadScratchCapacity[index] = bytes
        }
        // Non-nil: allocated just above when missing or too small.
        return threadScratch[index].unsafelyUnwrapped
    }

    /// Shared scratch of at least `bytes` bytes, 64-byte aligned, reused between calls; valid
    /// until the next call. Call only outside loop bodies.
    func scratch(bytes: Int) -> UnsafeMutableRawPointer {
        if scratchCapacity < bytes {
            scratchBuffer?.deallocate()
            let capacity = max(bytes, scratchCapacity * 2)
            scratchBuffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
            scratchCapacity = capacity
        }
        return scratchBuffer.unsafelyUnwrapped
    }

    private func runChunks(threadIndex: Int) {
        while true {
            let chunk = nextChunk.add(1, ordering: .relaxed).oldValue
            if chunk >= chunkCount { return }
            let start = chunk * chunkSize
            let range = start..<min(count, start + chunkSize)
            if let body { body(range) } else if let indexedBody { indexedBody(range, threadIndex) }
        }
    }

    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            // Spin a little: loops in decoding come back to back.
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && spins < 20_000 {
                ck_cpu_relax()
                spins += 1
            }
            if generation.load(ordering: .acquiring) == seen {
                pthread_mutex_lock(mutex)
                while generation.load(ordering: .acquiring) == seen && !stopping {
                    pthread_cond_wait(wake, mutex)
                }
                pthread_mutex_unlock(mutex)
            }
            if stopping { return }
            seen = generation.load(ordering: .acquiring)
            if ck_isa_thread() != callerISA { ck_isa_set_thread(callerISA) }
            runChunks(threadIndex: index)
            unfinished.subtract(1, ordering: .releasing)
        }
    }
}

private final class WorkerContext {
    // Unowned: the pool's deinit joins its workers, so it outlives them.
    unowned(unsafe) let pool: ThreadPool
    let index: Int
    init(pool: ThreadPool, index: Int) {
        self.pool = pool
        self.index = index
    }
}

