import AVTensor
import Foundation

/// One direction of a contrastive term for this rank's rows: the query rows Q (this rank's n
/// clips) against every key row K of the global batch (N clips), logits L = c · Q Kᵀ, with
/// either the diagonal as target (cross-entropy, the positive of local row i is global column
/// offset + i) or a soft target softmax(c̄ · Q' K'ᵀ) (KL(target ‖ softmax(L)), no gradient into
/// the target).
///
/// Backward, for G = factor · (softmax(L) − target): dQ += c · G K (this rank's rows),
/// dK += c · Gᵀ Q (every row of the global batch: the part that belongs to other ranks' clips is
/// summed there by the caller's reduce-scatter), and d/dc = Σ G ⊙ L / c.
/// Logits come from SGEMM in Float; exponentials are Float, log-sum-exp, the loss and the sums
/// are accumulated in Double.
enum ContrastiveRows {
    /// Matrices of one direction: pointers into the gathered [N, ld] embedding table (Q and the
    /// target's query already offset to this rank's first row).
    struct Operands {
        var query: UnsafePointer<Float>
        var key: UnsafePointer<Float>
        var scale: Float
        /// Soft target (query rows, key rows, scale); nil for the diagonal.
        var target: (query: UnsafePointer<Float>, key: UnsafePointer<Float>, scale: Float)?
        /// Gradient destinations (same layout as query/key, leading dimension `ldGrad`), or nil.
        var dQuery: UnsafeMutablePointer<Float>?
        var dKey: UnsafeMutablePointer<Float>?
    }

    /// Shapes and scratch space shared by the directions of one call.
    struct Workspace {
        let n: Int, total: Int, dim: Int, offset: Int
        /// Leading dimension of the embedding table and of the gradient table.
        let ld: Int, ldGrad: Int
        let logits: Tensor      // [n, N], then G
        let targets: Tensor     // [n, N]
        let rowLoss: UnsafeMutablePointer<Double>
        let rowDC: UnsafeMutablePointer<Double>

        init(n: Int, total: Int, dim: Int, offset: Int, ld: Int, ldGrad: Int) {
            (self.n, self.total, self.dim, self.offset, self.ld, self.ldGrad) = (n, total, dim, offset, ld, ldGrad)
            logits = Tensor([n, total])
            targets = Tensor([n, total])
            rowLoss = .allocate(capacity: n)
            rowDC = .allocate(capacity: n)
        }

        func release() { rowLoss.deallocate(); rowDC.deallocate() }
    }

    /// Runs one direction: returns Σ over this rank's rows of the row loss (cross-entropy or KL),
    /// and Σ G ⊙ (Q Kᵀ) (the derivative of factor·Σ rows with respect to the scale c).
    /// Gradients are accumulated into `dQuery`/`dKey`.
    static func apply(_ op: Operands, factor: Float, _ w: Workspace) -> (loss: Double, dScale: Double) {
        let (n, total, dim) = (w.n, w.total, w.dim)
        BLAS.gemm(transB: true, m: n, n: total, k: dim, alpha: op.scale, a: op.query, lda: w.ld,
                  b: op.key, ldb: w.ld, c: w.logits.ptr, ldc: total)
        if let t = op.target {
            BLAS.gemm(transB: true, m: n, n: total, k: dim, alpha: t.scale, a: t.query, lda: w.ld,
                      b: t.key, ldb: w.ld, c: w.targets.ptr, ldc: total)
        }
        let soft = op.target != nil
        let box = UncheckedBox((w.logits.ptr, w.targets.ptr, w.rowLoss, w.rowDC))
        let invScale = 1 / Double(op.scale), offset = w.offset
        Threads.parallelFor(n, minChunk: 16) { range in
            let (lg, tg, rowLoss, rowDC) = box.value
            // exp(x − max) of the current logits and target rows, reused for softmax and loss.
            let e = UnsafeMutablePointer<Float>.allocate(capacity: 2 * total)
            defer { e.deallocate() }
            let et = e + total
            for i in range {
                let l = lg + i * total
                let (lse, sum) = expShifted(l, into: e, total)
                let inv = Float(1 / sum)
                var loss = 0.0, dc = 0.0
                if soft {
                    let t = tg + i * total
                    let (tlse, tsum) = expShifted(t, into: et, total)
                    let tinv = Float(1 / tsum)
                    for j in 0..<total {
                        let q = et[j] * tinv, p = e[j] * inv
                        if q > 0 { loss += Double(q) * ((Double(t[j]) - tlse) - (Double(l[j]) - lse)) }
                        let g = (p - q) * factor
                        dc += Double(g * l[j])
                        l[j] = g
                    }
                } else {
                    let pos = offset + i
                    loss = lse - Double(l[pos])
                    for j in 0..<total {
                        let p = e[j] * inv
                        let g = (j == pos ? p - 1 : p) * factor
                        dc += Double(g * l[j])
                        l[j] = g
                    }
                }
                rowLoss[i] = loss
                rowDC[i] = dc * invScale
            }
        }
        if let dq = op.dQuery {
            BLAS.gemm(m: n, n: dim, k: total, alpha: op.scale, a: w.logits.ptr, lda: total, b: op.key, ldb: w.ld,
                      beta: 1, c: dq, ldc: w.ldGrad)
        }
        if let dk = op.dKey {
            BLAS.gemm(transA: true, m: total, n: dim, k: n, alpha: op.scale, a: w.logits.ptr, lda: total,
                      b: op.query, ldb: w.ld, beta: 1, c: dk, ldc: w.ldGrad)
        }
        var loss = 0.0, dScale = 0.0
        for i in 0..<n { loss += w.rowLoss[i]; dScale += w.rowDC[i] }
        return (loss, dScale)
    }

    /// Writes e[j] = exp(x[j] − max x) (`FastMath.expShifted`); returns log Σ exp(x[j]) and Σ e[j].
    @inline(__always)
    static func expShifted(_ x: UnsafePointer<Float>, into e: UnsafeMutablePointer<Float>,
                           _ count: Int) -> (lse: Double, sum: Double) {
        let (m, s) = FastMath.expShifted(x, into: e, count)
        return (Double(m) + log(Double(s)), Double(s))
    }
}
