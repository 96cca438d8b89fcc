import CBLAS

/// Row-major single-precision GEMM and BLAS controls over OpenBLAS.
///
/// All matrices are row-major, as in PyTorch. `C = alpha · op(A) · op(B) + beta · C`, where
/// op(A) is m×k and op(B) is k×n.
public enum BLAS {
    /// `C[m,n] = alpha · op(A) · op(B) + beta · C`, row-major, with leading dimensions.
    @inlinable
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Contiguous GEMM: leading dimensions follow from the shapes and transposes.
    @inlinable
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>) {
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
             a: a, lda: transA ? m : k, b: b, ldb: transB ? k : n, beta: beta, c: c, ldc: n)
    }

    /// Double-precision contiguous GEMM `C[m,n] = alpha · op(A) · op(B) + beta · C` (row-major), for
    /// solvers that need the precision (e.g. the linear probe).
    public static func dgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Double = 1,
                             a: UnsafePointer<Double>, b: UnsafePointer<Double>, beta: Double = 0, c: UnsafeMutablePointer<Double>) {
        if m == 0 || n == 0 { return }
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(transA ? m : k), b, Int32(transB ? k : n), beta, c, Int32(n))
    }

    /// The name of the kernel set OpenBLAS chose (e.g. "SkylakeX", or "Prescott" when it fell back).
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS build configuration string.
    public static var config: String { String(cString: openblas_get_config()) }

    /// OpenBLAS worker threads.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Runs `body` with OpenBLAS held to one thread (for loops that run their own threads, each
    /// calling BLAS), restoring the previous count afterwards.
    @inlinable
    public static func singleThreaded<R>(_ body: () throws -> R) rethrows -> R {
        let saved = threads
        if saved > 1 { threads = 1 }
        defer { if saved > 1 { threads = saved } }
        return try body()
    }
}
