import CBLAS
import CKernels
import GGUF

/// Matrix products of a weight matrix with rows of Float32 activations:
/// `output[b*rows + r] = Σ_c W[r, c] · input[b*columns + c]` for `b < batch`.
///
/// Small batches (decoding) quantize each activation row once to the weight type's
/// activation format, exactly as ggml does (Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1,
/// Q8_K for K-quants, fp16 for F16, bf16 for BF16), then run integer block dot products in C
/// (AVX2/VNNI on x86-64, NEON/dotprod on aarch64), split by rows over the pool.
/// Batches of at least `batchedThreshold(for:)` rows (prefill, vision) convert the weight to
/// Float32 (in 64 MiB panels) and multiply it with multi-threaded OpenBLAS SGEMM.
public enum MatMul {
    /// Batch size from which the SGEMM path is used for weights of `type`. Measured with
    /// `edgevlm bench kernels --crossover` (2048×2048, CPU time per call): converting the weight
    /// to Float32 costs about as much as 30–60 integer-dot rows, so F16 crosses over between
    /// batch 16 and 32 and the quantized types between 32 and 64 (BENCHMARKS.md, Kernels).
    public static func batchedThreshold(for type: GGMLType) -> Int {
        switch type {
        case .f32, .f16, .bf16: 32
        default: 64
        }
    }

    /// Computes the product (see the type's documentation) on `pool`.
    /// - Parameters:
    ///   - input: `batch × weight.columns` floats, row-major.
    ///   - output: `batch × weight.rows` floats, row-major; must not overlap `input`.
    public static func compute(weight: WeightMatrix, input: UnsafePointer<Float>, batch: Int,
                               output: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        guard batch > 0 else { return }
        if batch >= batchedThreshold(for: weight.type) {
            computeBatched(weight: weight, input: input, batch: batch, output: output, pool: pool)
        } else {
            computeQuantized(weight: weight, input: input, batch: batch, output: output, pool: pool)
        }
    }

    /// The integer-dot path for any batch (what `compute` uses for small batches).
    /// - Parameter ggmlDecodeOrder: llama.cpp's decode order where it is not the tiles' (Q4_0:
    ///   whole-block integer sums, `ck_gemv_ggml`; the caller checks `ck_gemv_ggml_supported`).
    public static func computeQuantized(weight: WeightMatrix, input: UnsafePointer<Float>, batch: Int,
                                        output: UnsafeMutablePointer<Float>, pool: ThreadPool,
                                        ggmlDecodeOrder: Bool = false) {
        guard batch > 0 else { return }
        let type = Int32(weight.type.rawValue)
        let columns = weight.columns
        let activationBytes = ck_activation_row_bytes(type, Int64(columns))
        let activations = pool.scratch(bytes: activationBytes * batch)
        for b in 0..<batch {
            ck_prepare_activation(type, input + b * columns, activations + b * activationBytes, Int64(columns))
        }
        let rowBytes = weight.rowBytes
        let rows = weight.rows
        let data = weight.data
        // Chunks of 16 rows: whole cache lines of output, few chunk claims.
        pool.parallelFor(rows, minimumChunk: 16) { range in
            if ggmlDecodeOrder {
                ck_gemv_ggml(type, Int64(columns), data + range.lowerBound * rowBytes, rowBytes, Int64(range.count),
                             activations, activationBytes, Int64(batch), output + range.lowerBound, Int64(rows))
            } else {
                ck_mul_mat(type, Int64(columns), data + range.lowerBound * rowBytes, rowBytes, Int64(range.count),
                           activations, activationBytes, Int64(batch), output + range.lowerBound, Int64(rows))
            }
        }
    }

    /// The SGEMM path for any batch (what `compute` uses for large batches): the weight is
    /// converted to Float32 in panels of at most 64 MiB (rows split over the pool), and each
    /// panel is multiplied by one OpenBLAS SGEMM running on `pool.threadCount` OpenBLAS threads,
    /// which share the packed activations (splitting the GEMM ourselves re-packed them per
    /// part: 15–40% slower, measured). Panel geometry does not depend on the thread count, and
    /// OpenBLAS never splits the inner (k) dimension, so results do not either.
    public static func computeBatched(weight: WeightMatrix, input: UnsafePointer<Float>, batch: Int,
                                      output: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        guard batch > 0 else { return }
        let panelRows = panelRowCount(rows: weight.rows, columns: weight.columns)
        let panel = weight.type == .f32 ? nil
            : pool.scratch(bytes: panelRows * weight.columns * MemoryLayout<Float>.stride).assumingMemoryBound(to: Float.self)
        sgemm(weight: weight, input: input, batch: batch, output: output, panelBuffer: panel, panelRows: panelRows, pool: pool)
    }

    /// The llama.cpp-compatible product for any batch: the integer path (`computeQuantized`,
    /// in ggml's decode order where that is not the tiles', i.e. Q4_0) for small batches; from `integerGemmThreshold(for:)` rows the strip-packed integer GEMM
    /// (`computeQuantizedGemm`) where this CPU has one, else from
    /// `compatibleBatchedThreshold(for:)` rows the same arithmetic through SGEMM
    /// (`computeQuantizedBatched`). All routes multiply the same quantized activations.
    public static func computeCompatible(weight: WeightMatrix, input: UnsafePointer<Float>, batch: Int,
                                         output: UnsafeMutablePointer<Float>, pool: ThreadPool,
                                         lent: LentBuffers = LentBuffers()) {
        if batch >= integerGemmThreshold(for: weight.type) {
            computeQuantizedGemm(weight: weight, input: input, batch: batch, output: output, pool: pool)
        } else if ck_gemv_ggml_supported(Int32(weight.type.rawValue)) != 0 {
            computeQuantized(weight: weight, input: input, batch: batch, output: output, pool: pool, ggmlDecodeOrder: true)
        } else if batch >= compatibleBatchedThreshold(for: weight.type) {
            computeQuantizedBatched(weight: weight, input: input, batch: batch, output: output, pool: pool, lent: lent)
        } else {
            computeQuantized(weight: weight, input: input, batch: batch, output: output, pool: pool)
        }
    }

    /// Batch size from which `computeCompatible` takes the SGEMM route for weights of `type`
    /// (`Int.max`: never). Measured with `edgevlm bench kernels --crossover` (BENCHMARKS.md,
    /// Kernels). Q4_1/Q5_1 stay integer: ggml folds their minimum into an fp16-rounded activation
    /// sum that a float GEMM cannot reproduce.
    public static func compatibleBatchedThreshold(for type: GGMLType) -> Int {
        switch type {
        case .q4_1, .q5_1: Int.max
        case .q4_0, .q8_0: 256
        default: batchedThreshold(for: type)
        }
    }

    /// Batch size from which `computeCompatible` takes the strip-packed integer GEMM for weights
    /// of `type` (`Int.max`: never). Only Q4_0, whose GEMM is llama.cpp's arithmetic there:
    /// llama.cpp repacks Q4_0 weights at load and multiplies them (prefill and decode) with one
    /// integer sum per block, acc = fma(Σ, d_w·d_a, acc), as `ck_gemm` does. For Q5_0/Q8_0 it
    /// sums 8 lanes per block separately, as the register tiles do (tiny Q8_0 fixture: llama.cpp's
    /// logits bit for bit through the tiles, relative L2 5.1e-3 through the GEMM). Below the
    /// threshold Q4_0 takes `ck_gemv_ggml`, the GEMM's arithmetic, as llama.cpp's decode does.
    /// The GEMM beats the tiles from 6–8 rows and the SGEMM route by 2.5–4x at 512 rows
    /// (4864×896, one thread, `tools/bench/ck_gemm_bench.c`; BENCHMARKS.md, Language model).
    public static func integerGemmThreshold(for type: GGMLType) -> Int {
        type == .q4_0 && ck_gemm_supported(Int32(type.rawValue)) != 0 ? 8 : Int.max
    }

    /// The integer path's products for many activation rows (`ck_gemm`): each activation row is
    /// quantized exactly as for `computeQuantized`, and each 32-row weight strip is repacked once
    /// (per thread, into its scratch) so that one VNNI instruction advances 16 rows. The block
    /// sums are the same integers; results differ from `computeQuantized` by float summation
    /// order only (~1e-7 relative) and do not depend on the thread count. Without a GEMM kernel
    /// for the type at the current level this runs the scalar twin (slow; tests only).
    public static func computeQuantizedGemm(weight: WeightMatrix, input: UnsafePointer<Float>, batch: Int,
                                            output: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        guard batch > 0 else { return }
        let type = Int32(weight.type.rawValue)
        let columns = weight.columns
        let activationBytes = ck_activation_row_bytes(type, Int64(columns))
        let sideBytes = ck_gemm_side_row_bytes(Int64(columns))
        let activationsBytes = (activationBytes * batch + 63) / 64 * 64
        let activations = pool.scratch(bytes: activationsBytes + sideBytes * batch)
        let side = activations + activationsBytes
        pool.parallelFor(batch, minimumChunk: 4) { range in
            for b in range {
                ck_prepare_activation(type, input + b * columns, activations + b * activationBytes, Int64(columns))
            }
            ck_gemm_prepare(type, Int64(columns), activations + range.lowerBound * activationBytes, activationBytes,
                            Int64(range.count), side + range.lowerBound * sideBytes)
        }
        let rows = weight.rows
        let rowBytes = weight.rowBytes
        let data = weight.data
        let stripBytes = ck_gemm_strip_bytes(Int64(columns))
        // Whole 32-row strips per chunk: a strip is packed once and serves every activation row.
        pool.parallelForIndexed((rows + 31) / 32) { range, thread in
            let scratch = pool.threadScratch(thread, bytes: stripBytes)
            let first = range.lowerBound * 32
            let last = min(rows, range.upperBound * 32)
            ck_gemm(type, Int64(columns), data + first * rowBytes, rowBytes, Int64(last - first), activations,
                    activationBytes, side, Int64(batch), output + first, Int64(rows), scratch)
        }
    }

    /// The integer path's arithmetic through SGEMM: each activation row is quantized exactly as
    /// for the integer dot products (`ck_prepare_activation`), expanded back to the floats those
    /// products multiply (`ck_expand_activation`), and multiplied with the Float32-converted
    /// weight by OpenBLAS. Block products are exact in Float32 for F16/Q8_0-style blocks, so it
    /// differs from `computeQuantized` by float summation order only (~1e-7 relative), not by
    /// the ~1e-2 of skipping the activation quantization.
    public static func computeQuantizedBatched(weight: WeightMatrix, input: UnsafePointer<Float>, batch: Int,
                                               output: UnsafeMutablePointer<Float>, pool: ThreadPool,
                                               lent: LentBuffers = LentBuffers()) {
        guard batch > 0 else { return }
        let type = Int32(weight.type.rawValue)
        let columns = weight.columns
        let activationBytes = ck_activation_row_bytes(type, Int64(columns))
        // The expanded activations go over the input when the caller gives it up (each row is
        // quantized into a per-thread copy before its floats are written back), else into the
        // scratch; the weight panel goes into a lent buffer when one holds enough rows.
        let expandedFloats = lent.inputIsDisposable ? 0 : (batch * columns + 15) / 16 * 16
        let lentRows = lent.panel.map { min(weight.rows, $0.count / columns) } ?? 0
        let useLentPanel = weight.type != .f32 && lentRows >= min(weight.rows, minimumLentPanelRows)
        let panelRows = useLentPanel ? lentRows
            : max(min(weight.rows, minimumPanelRows), panelRowCount(rows: weight.rows, columns: columns, budgetBytes: 4 << 20))
        let panelFloats = weight.type == .f32 || useLentPanel ? 0 : panelRows * columns
        let base = pool.scratch(bytes: max(16, expandedFloats + panelFloats) * MemoryLayout<Float>.stride)
            .assumingMemoryBound(to: Float.self)
        let expanded = lent.inputIsDisposable ? UnsafeMutablePointer(mutating: input) : base
        pool.parallelForIndexed(batch, minimumChunk: 4) { range, thread in
            let quantized = pool.threadScratch(thread, bytes: activationBytes)
            for b in range {
                ck_prepare_activation(type, input + b * columns, quantized, Int64(columns))
                ck_expand_activation(type, quantized, expanded + b * columns, Int64(columns))
            }
        }
        let panel: UnsafeMutablePointer<Float>? = if weight.type == .f32 { nil }
            else if useLentPanel { lent.panel?.baseAddress }
            else { base + expandedFloats }
        sgemm(weight: weight, input: expanded, batch: batch, output: output,
              panelBuffer: panel, panelRows: panelRows, pool: pool)
    }

    /// Panel rows of the compatible SGEMM route: 4 MiB panels (peak RSS: a pp512 run of the
    /// language model stays under llama.cpp's), but at least this many rows, since every SGEMM
    /// call packs the whole input again (at 4864 columns, 4 MiB would be 215 rows).
    static let minimumPanelRows = 512
    /// A lent panel buffer is used from this many rows (or the whole matrix).
    static let minimumLentPanelRows = 256

    /// Memory a caller lends to one product so that the SGEMM route needs no scratch of its own:
    /// the decoder's feed-forward down-projection gives up its input (the SwiGLU rows) and the
    /// dead `up` rows (20 MB of a 512-row pass's working set at Qwen2-0.5B's shape otherwise).
    public struct LentBuffers {
        /// The product may overwrite its input rows (the caller does not read them afterwards).
        public var inputIsDisposable: Bool
        /// A buffer the caller does not need during the product, for the Float32 weight panel.
        public var panel: UnsafeMutableBufferPointer<Float>?

        public init(inputIsDisposable: Bool = false, panel: UnsafeMutableBufferPointer<Float>? = nil) {
            self.inputIsDisposable = inputIsDisposable
            self.panel = panel
        }
    }

    /// Converts `weight` panel by panel into `panelBuffer` (unless it is F32) and multiplies each
    /// panel's rows, split once per pool thread, with one single-threaded OpenBLAS SGEMM per thread:
    /// each thread converts the rows it then multiplies (still in its cache), and no second set of
    /// threads (OpenBLAS's own) competes with the pool's for the cores. With OpenBLAS threading
    /// the idle pool workers and OpenBLAS's workers took turns on the 2 cores: 10–15 % of a
    /// 2-thread prefill was `sched_yield` and the scheduler (`perf`, BENCHMARKS.md).
    private static func sgemm(weight: WeightMatrix, input: UnsafePointer<Float>, batch: Int,
                              output: UnsafeMutablePointer<Float>, panelBuffer: UnsafeMutablePointer<Float>?,
                              panelRows: Int, pool: ThreadPool) {
        OpenBLASThreads.useOneThreadPerCaller()
        let columns = weight.columns
        let rows = weight.rows
        let threads = max(1, pool.threadCount)
        var first = 0
        while first < rows {
            let count = min(panelRows, rows - first)
            let base = first
            // One chunk per thread (multiples of 16 rows): every SGEMM call repacks the input.
            let share = ((count + threads - 1) / threads + 15) / 16 * 16
            pool.parallelFor(count, minimumChunk: share) { range in
                let panel: UnsafePointer<Float>
                if let converted = panelBuffer {
                    let rowsOut = converted + range.lowerBound * columns
                    weight.dequantizeRows((base + range.lowerBound)..<(base + range.upperBound), into: rowsOut)
                    panel = UnsafePointer(rowsOut)
                } else {
                    panel = weight.data.assumingMemoryBound(to: Float.self) + (base + range.lowerBound) * columns
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(range.count), Int32(columns),
                            1, input, Int32(columns), panel, Int32(columns), 0, output + base + range.lowerBound, Int32(rows))
            }
            first += count
        }
    }

    /// Rows per converted panel: the whole matrix when its Float32 copy fits `budgetBytes`,
    /// else panels of that size (a multiple of 16 rows).
    static func panelRowCount(rows: Int, columns: Int, budgetBytes: Int = 64 << 20) -> Int {
        let fit = budgetBytes / (columns * MemoryLayout<Float>.stride)
        return min(rows, max(16, fit / 16 * 16))
    }

    /// Float64 reference: dequantizes each weight row and accumulates in Double, without
    /// quantizing the activations. Slow; for tests.
    public static func computeReference(weight: WeightMatrix, input: UnsafePointer<Float>, batch: Int,
                                        output: UnsafeMutablePointer<Float>) {
        let columns = weight.columns
        let row = UnsafeMutablePointer<Float>.allocate(capacity: columns)
        defer { row.deallocate() }
        for r in 0..<weight.rows {
            weight.dequantizeRow(r, into: row)
            for b in 0..<batch {
                var sum = 0.0
                let x = input + b * columns
                for c in 0..<columns { sum += Double(row[c]) * Double(x[c]) }
                output[b * weight.rows + r] = Float(sum)
            }
        }
    }

    /// Scalar twin of `computeQuantized`: the same activation quantization and integer block
    /// sums in portable C, one thread. Differs from the fast path only by float summation order.
    public static func computeQuantizedReference(weight: WeightMatrix, input: UnsafePointer<Float>, batch: Int,
                                                 output: UnsafeMutablePointer<Float>) {
        let type = Int32(weight.type.rawValue)
        let columns = weight.columns
        let activationBytes = ck_activation_row_bytes(type, Int64(columns))
        let activations = UnsafeMutableRawPointer.allocate(byteCount: max(1, activationBytes), alignment: 64)
        defer { activations.deallocate() }
        for b in 0..<batch {
            ck_prepare_activation_ref(type, input + b * columns, activations, Int64(columns))
            for r in 0..<weight.rows {
                output[b * weight.rows + r] = ck_vec_dot_ref(type, Int64(columns), weight.rowPointer(r), activations)
            }
        }
    }
}

/// OpenBLAS runs single-threaded, set once per process: callers run it inside the pool's loops,
/// one call per thread. Its thread count is process-wide and changing it while another thread
/// is inside OpenBLAS is a data race, so nothing changes it afterwards.
enum OpenBLASThreads {
    private static let configured: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    static func useOneThreadPerCaller() { _ = configured }

    /// The OpenBLAS kernel family in use (e.g. "Haswell"), for logs and benchmarks.
    static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }
}
