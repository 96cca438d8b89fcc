import AVTensor

/// Measures sgemm throughput (GFLOP/s) for an m×k · k×n product on the current thread budget:
/// warm-up, then repeats until `minSeconds` have passed.
func measureSgemm(m: Int, n: Int, k: Int, transB: Bool = false, minSeconds: Double = 0.5) -> Double {
    let a = Tensor([m, k]), b = Tensor([k, n]), c = Tensor([m, n])
    var rng = Rng(seed: 1)
    rng.fillNormal(a.ptr, a.count); rng.fillNormal(b.ptr, b.count)
    BLAS.gemm(transB: transB, m: m, n: n, k: k, a: a.ptr, b: b.ptr, c: c.ptr)
    var reps = 0
    let sw = Stopwatch()
    repeat {
        BLAS.gemm(transB: transB, m: m, n: n, k: k, a: a.ptr, b: b.ptr, c: c.ptr)
        reps += 1
    } while sw.seconds < minSeconds
    return 2 * Double(m) * Double(n) * Double(k) * Double(reps) / sw.seconds / 1e9
}
