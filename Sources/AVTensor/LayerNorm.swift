import CKernels

/// LayerNorm over the last dimension: `out = (x − mean) · rstd · weight + bias`, eps 1e-5 as
/// PyTorch. Forward saves per-row `mean` and `rstd` for backward; backward follows the kernel rule
/// (weight/bias gradients accumulate, `dinp` as `accumulate` says).
public enum LayerNorm {
    /// Rows split over the thread budget, each chunk one `Kernels` call.
    public static func forward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                               rows: Int, dim: Int, eps: Float = 1e-5) {
        let box = UncheckedBox((out, mean, rstd, inp, weight, bias))
        Threads.parallelFor(rows, minChunk: 64) { r in
            let (out, mean, rstd, inp, weight, bias) = box.value
            avk_layernorm_forward(out + r.lowerBound * dim, mean + r.lowerBound, rstd + r.lowerBound, inp + r.lowerBound * dim,
                                  weight, bias, r.count, dim, eps)
        }
    }

    /// Row chunks run in parallel; each sums its weight/bias gradients into its own slice of a
    /// temporary buffer, added to `dweight`/`dbias` (which accumulate) at the end.
    public static func backward(dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                                dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, dim: Int, accumulate: Bool) {
        let chunks = min(Threads.count, max(1, rows / 64))
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, chunks * 2 * dim)) { tmp in
            let part = tmp.baseAddress!
            part.initialize(repeating: 0, count: chunks * 2 * dim)
            let box = UncheckedBox((dinp, part, dout, inp, weight, mean, rstd))
            Threads.parallelFor(chunks) { range in
                let (dinp, part, dout, inp, weight, mean, rstd) = box.value
                for c in range {
                    let lo = rows * c / chunks, hi = rows * (c + 1) / chunks
                    avk_layernorm_backward(dinp + lo * dim, part + c * 2 * dim, part + c * 2 * dim + dim, dout + lo * dim, inp + lo * dim,
                                           weight, mean + lo, rstd + lo, hi - lo, dim, accumulate ? 1 : 0)
                }
            }
            for c in 0..<chunks {
                Reduce.add(dweight, part + c * 2 * dim, dim)
                Reduce.add(dbias, part + c * 2 * dim + dim, dim)
            }
        }
    }
}
