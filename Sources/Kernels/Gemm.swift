import CBLAS

/// Dense Float32 GEMM (OpenBLAS, rows of C split over the pool, one single-threaded call each):
/// `C[m×n] = A[m×k] · B` where B is `k×n` (`transposeB == false`) or given as `n×k`
/// (`transposeB == true`); all row-major with the given leading dimensions.
public enum Gemm {
    /// Computes `C = alpha·A·op(B) + beta·C`.
    public static func compute(m: Int, n: Int, k: Int,
                               a: UnsafePointer<Float>, lda: Int,
                               b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                               c: UnsafeMutablePointer<Float>, ldc: Int,
                               alpha: Float = 1, beta: Float = 0, pool: ThreadPool) {
        guard m > 0, n > 0 else { return }
        // OpenBLAS stays single-threaded process-wide: changing its thread count while other
        // threads are inside it is a data race (the kernels run on many callers at once).
        OpenBLASThreads.useOneThreadPerCaller()
        // Chunks of at least 64 rows, independent of the thread count (results must not depend on
        // it); each chunk's call packs B again, so not finer.
        pool.parallelFor(m, minimumChunk: 64) { range in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                        Int32(range.count), Int32(n), Int32(k), alpha, a + range.lowerBound * lda, Int32(lda),
                        b, Int32(ldb), beta, c + range.lowerBound * ldc, Int32(ldc))
        }
    }

    /// Scalar Float64 twin of `compute`.
    public static func computeReference(m: Int, n: Int, k: Int,
                                        a: UnsafePointer<Float>, lda: Int,
                                        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                                        c: UnsafeMutablePointer<Float>, ldc: Int,
                                        alpha: Float = 1, beta: Float = 0) {
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let bv = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(a[i * lda + p]) * Double(bv)
                }
                let old = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                c[i * ldc + j] = Float(Double(alpha) * sum + old)
            }
        }
    }
}
