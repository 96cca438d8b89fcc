import CKernels

/// Elementary functions over arrays at the CPU's vector width (`Kernels`): exp, and the
/// max-shifted exp at the heart of softmax and log-sum-exp (≈ 2 ulp, Cephes expf polynomial).
public enum FastMath {
    /// `y[i] = e^x[i]` (inputs clamped to ±87.3).
    public static func exp(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int) { avk_exp(y, x, n) }

    /// Writes `e[j] = exp(x[j] − max x)` (may be in place, `e == x`) and returns the max and
    /// Σ e[j]: the shared core of softmax and log-sum-exp.
    public static func expShifted(_ x: UnsafePointer<Float>, into e: UnsafeMutablePointer<Float>, _ n: Int) -> (max: Float, sum: Float) {
        var m: Float = 0
        let s = avk_exp_shifted(x, e, n, &m)
        return (m, s)
    }
}
