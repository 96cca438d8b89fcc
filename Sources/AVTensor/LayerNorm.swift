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
                                mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int, dim: Int, accumulate: Bool) {
        // Row chunks run in parallel; each sums its weight/bias gradients into its own slice of a
        // temporary buffer, added to dweight/dbias at the end.
        let chunks = min(Threads.count, max(1, rows / 64))
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, chunks * 2 * dim)) { tmp in
            let part = tmp.baseAddress!
            part.initialize(repeating: 0, count: chunks * 2 * dim)
            let box = UncheckedBox((dinp, part, dout, inp, weight, mean, rstd))
            Threads.parallelFor(chunks) { range in
                let (dinp, part, dout, inp, weight, mean, rstd) = box.value
                for c in range {
                    let dw = part + c * 2 * dim, db = dw + dim
                    for r in (rows * c / chunks)..<(rows * (c + 1) / chunks) {
                        backwardRow(dx: dinp + r * dim, dw: dw, db: db, g: dout + r * dim, x: inp + r * dim,
                                    weight: weight, mean: mean[r], rstd: rstd[r], dim: dim, accumulate: accumulate)
                    }
                }
            }
            for c in 0..<chunks {
                let dw = part + c * 2 * dim, db = dw + dim
                for i in 0..<dim { dweight[i] += dw[i]; dbias[i] += db[i] }
            }
        }
    }

    /// One row of the backward pass with SIMD16 accumulators (tail scalar).
    @inlinable @inline(__always)
    static func backwardRow(dx: UnsafeMutablePointer<Float>, dw: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>,
                            g: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                            mean m: Float, rstd s: Float, dim: Int, accumulate: Bool) {
        typealias V = SIMD16<Float>
        let gr = UnsafeRawPointer(g), xr = UnsafeRawPointer(x), wr = UnsafeRawPointer(weight)
        let dwr = UnsafeMutableRawPointer(dw), dbr = UnsafeMutableRawPointer(db), dxr = UnsafeMutableRawPointer(dx)
        var accG = V(repeating: 0), accGX = V(repeating: 0)
        var i = 0
        while i + 16 <= dim {
            let o = i * 4
            let gv = gr.loadUnaligned(fromByteOffset: o, as: V.self)
            let xh = (xr.loadUnaligned(fromByteOffset: o, as: V.self) - m) * s
            let gw = gv * wr.loadUnaligned(fromByteOffset: o, as: V.self)
            accG += gw
            accGX += gw * xh
            dbr.storeBytes(of: dbr.loadUnaligned(fromByteOffset: o, as: V.self) + gv, toByteOffset: o, as: V.self)
            dwr.storeBytes(of: dwr.loadUnaligned(fromByteOffset: o, as: V.self) + gv * xh, toByteOffset: o, as: V.self)
            i += 16
        }
        var sumG = accG.sum(), sumGX = accGX.sum()
        while i < dim {
            let xh = (x[i] - m) * s, gw = g[i] * weight[i]
            sumG += gw; sumGX += gw * xh
            db[i] += g[i]; dw[i] += g[i] * xh
            i += 1
        }
        let mg = sumG / Float(dim), mgx = sumGX / Float(dim)
        i = 0
        while i + 16 <= dim {
            let o = i * 4
            let xh = (xr.loadUnaligned(fromByteOffset: o, as: V.self) - m) * s
            let gw = gr.loadUnaligned(fromByteOffset: o, as: V.self) * wr.loadUnaligned(fromByteOffset: o, as: V.self)
            let d = (gw - mg - xh * mgx) * s
            dxr.storeBytes(of: accumulate ? dxr.loadUnaligned(fromByteOffset: o, as: V.self) + d : d, toByteOffset: o, as: V.self)
            i += 16
        }
        while i < dim {
            let xh = (x[i] - m) * s
            let d = (g[i] * weight[i] - mg - xh * mgx) * s
            dx[i] = accumulate ? dx[i] + d : d
            i += 1
        }
    }
}
