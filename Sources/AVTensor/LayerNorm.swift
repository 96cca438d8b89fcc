/// LayerNorm over the last dimension: `out = (x − mean) · rstd · weight + bias`, eps 1e-5 as
/// PyTorch. Forward saves per-row `mean` and `rstd` for backward. Backward accumulates.
public enum LayerNorm {
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                               rows: Int, dim: Int, eps: Float = 1e-5) {
        let box = UncheckedBox((out, mean, rstd, inp, weight, bias))
        Threads.parallelFor(rows, minChunk: 64) { range in
            let (out, mean, rstd, inp, weight, bias) = box.value
            for r in range {
                let x = inp + r * dim, y = out + r * dim
                let m = Reduce.sum(x, dim) / Float(dim)
                var v: Float = 0
                for i in 0..<dim { let d = x[i] - m; v += d * d }
                let s = 1 / (v / Float(dim) + eps).squareRoot()
                for i in 0..<dim { y[i] = (x[i] - m) * s * weight[i] + bias[i] }
                mean[r] = m
                rstd[r] = s
            }
        }
    }

    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                                dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, dim: Int) {
        for r in 0..<rows {
            let x = inp + r * dim, g = dout + r * dim, dx = dinp + r * dim
            let m = mean[r], s = rstd[r]
            var sumG: Float = 0, sumGX: Float = 0
            for i in 0..<dim {
                let xh = (x[i] - m) * s
                let gw = g[i] * weight[i]
                sumG += gw
                sumGX += gw * xh
                dbias[i] += g[i]
                dweight[i] += g[i] * xh
            }
            let mg = sumG / Float(dim), mgx = sumGX / Float(dim)
            for i in 0..<dim {
                let xh = (x[i] - m) * s
                dx[i] += (g[i] * weight[i] - mg - xh * mgx) * s
            }
        }
    }
}
