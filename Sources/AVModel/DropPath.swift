import AVTensor

/// Stochastic depth on a residual branch: per sample, the branch is kept with probability
/// `1 − p` and then scaled by `1/(1 − p)` (timm `DropPath`, `scale_by_keep`).
public enum DropPath {
    /// Draws per-sample factors (0 or 1/(1−p)) into `scale`.
    @inlinable
    public static func draw(scale: UnsafeMutablePointer<Float>, batch: Int, prob: Float, rng: inout Rng) {
        let keep = 1 - prob
        for b in 0..<batch { scale[b] = rng.uniform() < keep ? 1 / keep : 0 }
    }

    /// `out[b] = x[b] + scale[b] · branch[b]` over `perSample` floats per sample (`scale` nil = 1).
    @inlinable
    public static func residual(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, branch: UnsafePointer<Float>,
                                scale: UnsafePointer<Float>?, batch: Int, perSample: Int) {
        apply(out: out, x: x, branch: branch, scale: scale, batch: batch, perSample: perSample)
    }

    /// Branch gradient of `residual`: `dbranch[b] (+)= scale[b] · dout[b]`.
    @inlinable
    public static func branchBackward(dbranch: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                      scale: UnsafePointer<Float>?, batch: Int, perSample: Int, accumulate: Bool) {
        apply(out: dbranch, x: accumulate ? UnsafePointer(dbranch) : nil, branch: dout, scale: scale, batch: batch, perSample: perSample)
    }

    /// `out = (x ?? 0) + scale · branch`, parallel over chunks of 4096 floats.
    @inlinable
    static func apply(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>?, branch: UnsafePointer<Float>,
                      scale: UnsafePointer<Float>?, batch: Int, perSample: Int) {
        let box = UncheckedBox((out, x, branch, scale))
        let chunk = 4096, per = (perSample + chunk - 1) / chunk
        Threads.parallelFor(batch * per) { range in
            let (out, x, branch, scale) = box.value
            for t in range {
                let b = t / per, lo = b * perSample + (t % per) * chunk, hi = b * perSample + min(perSample, (t % per + 1) * chunk)
                let s = scale?[b] ?? 1
                if let x {
                    for i in lo..<hi { out[i] = x[i] + s * branch[i] }
                } else {
                    for i in lo..<hi { out[i] = s * branch[i] }
                }
            }
        }
    }
}
