import ArgumentParser
import Foundation
import GGUF
import Kernels

/// `edgevlm bench kernels`: GB/s and GFLOP/s of the mat-mul kernels per weight type, next to
/// the memory read bandwidth measured in the same run.
struct BenchKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Mat-vec (4096×4096) and batched (SigLIP shapes) throughput per weight type, with the measured memory read bandwidth."
    )

    @Option(help: "Threads (default: active processors).")
    var threads: Int = ThreadPool.defaultThreadCount

    @Option(help: "Comma-separated weight types for the mat-vec runs.")
    var types: String = "q4_0,q8_0,q4_K,q6_K,q5_0,f16"

    @Option(help: "Batch (tokens) of the batched runs.")
    var batch: Int = 1024

    @Option(help: "Measurement time per kernel in seconds.")
    var seconds: Double = 1.0

    @Flag(help: "Skip the batched (SigLIP) runs.")
    var skipBatched = false

    @Flag(help: "Reuse one weight matrix (cache-resident) instead of streaming copies from DRAM.")
    var resident = false

    @Option(name: .customLong("stream-mib"), help: "MiB of weight copies the mat-vec runs rotate over; more than the last-level cache, so weights stream from DRAM.")
    var streamMiB: Int = 256

    @Flag(help: "Instead: time the integer-dot and SGEMM paths per batch size (2048×2048 weights) to place MatMul's batch threshold.")
    var crossover = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Result: Codable {
        var kernel: String
        var type: String
        var shape: String
        var threads: Int
        var millisecondsPerCall: Double
        var medianMillisecondsPerCall: Double
        var cpuMillisecondsPerCall: Double
        var gigabytesPerSecond: Double
        var gigaflopsPerSecond: Double
    }

    struct Report: Codable {
        var isa: String
        var blasCore: String
        var threads: Int
        var readBandwidthGBps: Double
        var results: [Result]
    }

    func run() throws {
        let pool = ThreadPool(threadCount: threads)
        if crossover {
            try runCrossover(pool: pool)
            return
        }
        var results: [Result] = []
        let bandwidth = measureReadBandwidth(pool: pool)
        for name in types.split(separator: ",") {
            guard let type = GGMLType.allCases.first(where: { $0.name == name }) else {
                throw ValidationError("unknown type \(name)")
            }
            results.append(try benchMatVec(type: type, rows: 4096, columns: 4096, pool: pool))
        }
        if !skipBatched {
            // SigLIP-400M layer shapes (rows × columns of the weight): fc1, fc2, q/k/v/out.
            for (rows, columns) in [(4304, 1152), (1152, 4304), (1152, 1152)] {
                results.append(try benchBatched(type: .f16, rows: rows, columns: columns, batch: batch, pool: pool))
            }
        }
        let report = Report(isa: KernelsInfo.currentISA.description, blasCore: KernelsInfo.blasCoreName,
                            threads: threads, readBandwidthGBps: bandwidth, results: results)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("kernels: \(report.isa), OpenBLAS core \(report.blasCore), \(threads) thread(s)")
            print("memory read bandwidth: \(format(bandwidth)) GB/s")
            print("(best call of each; median wall ms and mean CPU ms per call in brackets)")
            print("kernel   type   shape                   ms/call    GB/s   GFLOP/s  %bandwidth  [median ms, cpu ms]")
            for r in results {
                let pad = { (s: String, n: Int) in s.padding(toLength: n, withPad: " ", startingAt: 0) }
                print("\(pad(r.kernel, 8)) \(pad(r.type, 6)) \(pad(r.shape, 22)) \(pad(format(r.millisecondsPerCall, 3), 9)) \(pad(format(r.gigabytesPerSecond), 7)) \(pad(format(r.gigaflopsPerSecond), 9)) \(pad(format(100 * r.gigabytesPerSecond / bandwidth, 0) + "%", 11)) [\(format(r.medianMillisecondsPerCall, 3)), \(format(r.cpuMillisecondsPerCall, 3))]")
            }
        }
    }

    /// Best-call milliseconds of both mat-mul paths for growing batches.
    func runCrossover(pool: ThreadPool) throws {
        print("batch crossover, 2048x2048 weights, \(threads) thread(s): best ms per call (cpu ms), integer path | compatible sgemm path (activations quantized) | sgemm path")
        for name in types.split(separator: ",") {
            guard let type = GGMLType.allCases.first(where: { $0.name == name }) else { throw ValidationError("unknown type \(name)") }
            let (storage, matrices) = try makeMatrices(type: type, rows: 2048, columns: 2048, minimumTotalBytes: 0)
            defer { storage.deallocate() }
            var line = "\(type.name):"
            for batch in [1, 2, 4, 8, 16, 32, 64, 128, 256] {
                let input = (0..<(batch * 2048)).map { Float(sin(Double($0) * 0.37)) }
                var output = [Float](repeating: 0, count: batch * 2048)
                let q = timeStatisticsWithCPU {
                    MatMul.computeQuantized(weight: matrices[0], input: input, batch: batch, output: &output, pool: pool)
                }
                let c = timeStatisticsWithCPU {
                    MatMul.computeQuantizedBatched(weight: matrices[0], input: input, batch: batch, output: &output, pool: pool)
                }
                let g = timeStatisticsWithCPU {
                    MatMul.computeBatched(weight: matrices[0], input: input, batch: batch, output: &output, pool: pool)
                }
                line += "  b\(batch) \(format(q.best * 1e3, 2))(\(format(q.cpu * 1e3, 2)))|\(format(c.best * 1e3, 2))(\(format(c.cpu * 1e3, 2)))|\(format(g.best * 1e3, 2))(\(format(g.cpu * 1e3, 2)))"
            }
            print(line)
        }
    }

    func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

    /// Fastest seconds per call of `body` over repetitions filling about `seconds` (the machine
    /// is shared: the fastest call is the one least disturbed by other processes; the median
    /// is printed too).
    func time(_ body: () -> Void) -> Double {
        timeStatistics(body).best
    }

    func timeStatistics(_ body: () -> Void) -> (best: Double, median: Double) {
        let stats = timeStatisticsWithCPU(body)
        return (stats.best, stats.median)
    }

    /// Also returns the mean process CPU seconds per call (all threads): on an oversubscribed
    /// machine, work per CPU-second is the fairest efficiency measure for one thread.
    func timeStatisticsWithCPU(_ body: () -> Void) -> (best: Double, median: Double, cpu: Double) {
        body()
        var samples: [Double] = []
        let cpuStart = processCPUSeconds()
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        repeat {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        } while DispatchTime.now().uptimeNanoseconds < deadline || samples.count < 3
        let cpu = (processCPUSeconds() - cpuStart) / Double(samples.count)
        samples.sort()
        return (samples[0], samples[samples.count / 2], cpu)
    }

    func processCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Streams a 512 MiB buffer of random bytes, 8 MiB (about a mat-vec's worth) per timed
    /// call, split over the pool; median of many calls, like the kernels. Short calls measure
    /// the speed while the process runs, which matters on a shared, oversubscribed machine.
    func measureReadBandwidth(pool: ThreadPool) -> Double {
        let bytes = 512 << 20
        let slice = 8 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        defer { buffer.deallocate() }
        fillRandomWeights(buffer, type: .q8_0, bytes: bytes)
        let chunks = 32
        let chunkBytes = slice / chunks
        let sink = UnsafeMutablePointer<UInt64>.allocate(capacity: chunks)
        defer { sink.deallocate() }
        var offset = 0
        let seconds = time {
            let base = buffer + offset
            pool.parallelFor(chunks) { range in
                for c in range { sink[c] = MemoryStream.read(base + c * chunkBytes, bytes: chunkBytes) }
            }
            offset = (offset + slice) % bytes
        }
        return Double(slice) / seconds / 1e9
    }

    /// Several copies of a random matrix of `type`, together larger than the last-level cache,
    /// so each call streams its weights from DRAM (as decoding does).
    func makeMatrices(type: GGMLType, rows: Int, columns: Int, minimumTotalBytes: Int) throws -> (UnsafeMutableRawPointer, [WeightMatrix]) {
        guard let rowCount = type.byteCount(elements: columns) else { throw ValidationError("\(columns) columns do not fit \(type) blocks") }
        let matrixBytes = rowCount * rows
        let copies = max(1, (minimumTotalBytes + matrixBytes - 1) / matrixBytes)
        let storage = UnsafeMutableRawPointer.allocate(byteCount: matrixBytes * copies, alignment: 64)
        fillRandomWeights(storage, type: type, bytes: matrixBytes * copies)
        var matrices: [WeightMatrix] = []
        for i in 0..<copies {
            matrices.append(try WeightMatrix(type: type, rows: rows, columns: columns, data: storage + i * matrixBytes))
        }
        return (storage, matrices)
    }

    func benchMatVec(type: GGMLType, rows: Int, columns: Int, pool: ThreadPool) throws -> Result {
        let (storage, matrices) = try makeMatrices(type: type, rows: rows, columns: columns,
                                                   minimumTotalBytes: resident ? 0 : max(0, streamMiB) << 20)
        defer { storage.deallocate() }
        let input = (0..<columns).map { Float(sin(Double($0))) }
        var output = [Float](repeating: 0, count: rows)
        var next = 0
        let (seconds, median, cpu) = timeStatisticsWithCPU {
            MatMul.compute(weight: matrices[next], input: input, batch: 1, output: &output, pool: pool)
            next = (next + 1) % matrices.count
        }
        let bytes = Double(matrices[0].byteCount)
        return Result(kernel: "matvec", type: type.name, shape: "\(rows)x\(columns)", threads: threads,
                      millisecondsPerCall: seconds * 1e3, medianMillisecondsPerCall: median * 1e3, cpuMillisecondsPerCall: cpu * 1e3, gigabytesPerSecond: bytes / seconds / 1e9,
                      gigaflopsPerSecond: 2 * Double(rows * columns) / seconds / 1e9)
    }

    func benchBatched(type: GGMLType, rows: Int, columns: Int, batch: Int, pool: ThreadPool) throws -> Result {
        let (storage, matrices) = try makeMatrices(type: type, rows: rows, columns: columns, minimumTotalBytes: 0)
        defer { storage.deallocate() }
        let input = (0..<(batch * columns)).map { Float(sin(Double($0) * 0.37)) }
        var output = [Float](repeating: 0, count: batch * rows)
        let (seconds, median, cpu) = timeStatisticsWithCPU {
            MatMul.compute(weight: matrices[0], input: input, batch: batch, output: &output, pool: pool)
        }
        let bytes = Double(matrices[0].byteCount)
        return Result(kernel: "matmul", type: type.name, shape: "\(rows)x\(columns) b\(batch)", threads: threads,
                      millisecondsPerCall: seconds * 1e3, medianMillisecondsPerCall: median * 1e3, cpuMillisecondsPerCall: cpu * 1e3, gigabytesPerSecond: bytes / seconds / 1e9,
                      gigaflopsPerSecond: 2 * Double(rows * columns * batch) / seconds / 1e9)
    }

    /// Random bytes with small positive fp16 scales in every block (finite, realistic values).
    func fillRandomWeights(_ p: UnsafeMutableRawPointer, type: GGMLType, bytes: Int) {
        var state: UInt64 = 0x1234_5678
        let words = p.bindMemory(to: UInt64.self, capacity: bytes / 8)
        for i in 0..<(bytes / 8) {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            words[i] = state
        }
        let halves = p.bindMemory(to: UInt16.self, capacity: bytes / 2)
        switch type {
        case .f16:
            for i in 0..<(bytes / 2) { halves[i] = Float16(Float(Int(halves[i] % 2001) - 1000) / 1000).bitPattern }
        case .f32, .bf16:
            p.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        default:
            let offsets: [Int] = switch type {
            case .q4_0, .q5_0, .q8_0: [0]
            case .q4_1, .q5_1, .q4_K, .q5_K: [0, 2]
            case .q2_K: [80, 82]
            case .q3_K: [108]
            case .q6_K: [208]
            default: []
            }
            let scale = Float16(0.01).bitPattern
            for block in 0..<(bytes / type.bytesPerBlock) {
                for offset in offsets {
                    (p + block * type.bytesPerBlock + offset).storeBytes(of: scale, as: UInt16.self)
                }
            }
        }
    }
}

