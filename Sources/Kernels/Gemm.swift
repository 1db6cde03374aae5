import CBLAS

/// Dense Float32 GEMM (OpenBLAS) split by output columns over a pool:
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
        OpenBLASThreads.useOneThreadPerCaller()
        pool.parallelFor(n, minimumChunk: 64) { range in
            let bPanel = transposeB ? b + range.lowerBound * ldb : b + range.lowerBound
            cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(range.count), Int32(k), alpha, a, Int32(lda), bPanel, Int32(ldb),
                        beta, c + range.lowerBound, Int32(ldc))
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
