// Module Kernels: CPU math over raw buffers for the MiniCPM-V runtime (see ARCHITECTURE.md).
//
// Public API (stable; other modules build on it):
//
// - `ThreadPool(threadCount:)`: persistent workers; `parallelFor(count, minimumChunk:) { range in }`
//   runs contiguous chunks of `0..<count` on the workers and the caller. Deterministic: every
//   output element is computed by one thread in a fixed order, whatever the thread count.
// - `WeightMatrix(type:rows:columns:data:name:)`: a borrowed (memory-mapped) ggml matrix,
//   GGUF `ne = [columns, rows]`, row r at `data + r·rowBytes`; `dequantizeRow(_:into:)`.
// - `MatMul.compute(weight:input:batch:output:pool:)`:
//   `output[b·rows + r] = Σ_c W[r,c]·input[b·columns + c]`. Small batches: ggml-exact activation
//   quantization (Q8_0/Q8_1/Q8_K, fp16, bf16) + integer block dots in C (AVX2, AVX512-VNNI,
//   NEON, NEON dotprod, scalar). Batches ≥ `batchedThreshold(for:)` (32 float types, 64
//   quantized, measured): weight → Float32 (≤64 MiB panels) → one multi-threaded OpenBLAS SGEMM.
//   OpenBLAS is otherwise single-threaded (process-wide setting: run one kernel at a time).
//   Twins: `computeReference` (Float64, float activations), `computeQuantizedReference`
//   (same quantization, scalar C). `computeQuantized`/`computeBatched` force a path.
// - `MatMul.computeCompatible(...)`: the llama.cpp-compatible product (the decoder's default):
//   activations always quantized as ggml does; integer dots below `compatibleBatchedThreshold`,
//   above it the same quantized activations expanded to floats through SGEMM
//   (`computeQuantizedBatched`, equal to the integer path up to float summation order).
//   Q4_0 from `integerGemmThreshold` rows: the strip-packed integer GEMM (`computeQuantizedGemm`,
//   C `ck_gemm` on AVX-512 VNNI or NEON sdot; llama.cpp's per-block arithmetic for Q4_0).
// - `Gemm.compute(...)`: Float32 GEMM, rows split over the pool (single-threaded OpenBLAS per part).
// - `RMSNorm.apply`, `LayerNorm.apply` (weight, bias), `Softmax.apply` (scale, mask, causal),
//   `Activations.geluTanh / geluGGML (ggml's fp16 table) / geluErf / silu / swiGLU`,
//   `Elementwise.add / mul / scale / addBias / mulRows`,
//   `RoPE(dimensions:frequencyBase:frequencyScale:layout:frequencyFactors:).apply(...)`
//   (ggml NORM and NEOX layouts; `RoPE.llama3FrequencyFactors`),
//   `PatchEmbedding.compute` (im2col + mat-mul), `Attention.compute` over a `KVTensor`
//   (F32 or F16 cache with strides; GQA, causal or bidirectional, optional mask). Unmasked
//   bidirectional attention over Float32 keys/values (vision encoder, resampler) runs the fused
//   C kernel `ck_attention_f32` (scores of a 32-row block kept in L1), the rest two SGEMMs.
//   Each has a `…Reference` Float64 twin.
// - `HalfPrecision.encode/decode`: fp16 rows (F16 KV caches).
// - `KernelsInfo`: the instruction set in use, and a switch for tests and benchmarks.
//
// Errors: `KernelsError`. Pointers are the caller's; shapes are the caller's contract
// (preconditions), except where a function is documented to throw.
import CKernels

/// The instruction-set level of the C kernels.
public enum KernelISA: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case scalar = 0
    case avx2 = 1
    case avx512VNNI = 2
    case neon = 10
    case neonDotprod = 11

    public var description: String { String(cString: ck_isa_name(rawValue)) }
}

/// Which kernels run, and the levels this CPU offers.
public enum KernelsInfo {
    /// The best level this CPU supports (detected once at first use).
    public static var bestISA: KernelISA { KernelISA(rawValue: ck_isa_best()) ?? .scalar }

    /// The level in use.
    public static var currentISA: KernelISA { KernelISA(rawValue: ck_isa_current()) ?? .scalar }

    /// Selects a level (clamped to what the CPU supports) for the whole process and returns the
    /// one in use; for benchmarks. Safe while kernels run on other threads (each call takes one
    /// whole kernel table), but it changes their level too: tests use `withISA`.
    @discardableResult
    public static func selectISA(_ isa: KernelISA) -> KernelISA {
        KernelISA(rawValue: ck_isa_set(isa.rawValue)) ?? .scalar
    }

    /// Runs `body` with `isa` (clamped to what the CPU supports) selected for the calling thread
    /// and the `ThreadPool` loops it starts, then restores the thread's previous level. Other
    /// threads keep theirs: tests compare kernel levels while other tests run kernels.
    public static func withISA<Result>(_ isa: KernelISA, _ body: (KernelISA) throws -> Result) rethrows -> Result {
        let previous = ck_isa_thread()
        defer { ck_isa_set_thread(previous) }
        let chosen = KernelISA(rawValue: ck_isa_set_thread(isa.rawValue)) ?? .scalar
        return try body(chosen)
    }

    /// The levels usable on this CPU, lowest first.
    public static var availableISAs: [KernelISA] {
        let best = bestISA
        #if arch(x86_64)
        return [.scalar, .avx2, .avx512VNNI].filter { $0.rawValue <= best.rawValue }
        #elseif arch(arm64)
        return [.neon, .neonDotprod].filter { $0.rawValue <= best.rawValue }
        #else
        return [.scalar]
        #endif
    }

    /// OpenBLAS's kernel family (e.g. "Haswell").
    public static var blasCoreName: String { OpenBLASThreads.coreName }
}

/// Sequential memory reads, for measuring the bandwidth kernels are judged against.
public enum MemoryStream {
    /// Reads `bytes` bytes at `pointer` once and returns a checksum (so the reads happen).
    public static func read(_ pointer: UnsafeRawPointer, bytes: Int) -> UInt64 {
        ck_stream_read(pointer, bytes)
    }
}
