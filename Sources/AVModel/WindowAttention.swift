import AVTensor

/// The core of timm's `WindowAttention` between the `qkv` and `proj` linears:
/// per window and head, `P = softmax(scale · q kᵀ + bias + mask)`, `out = P v`.
///
/// Layouts (timm): `qkv` is [windows·N, 3·C] with columns `[3, heads, headDim]`; `out` is
/// [windows·N, C] with head `h` in columns `h·headDim ..< (h+1)·headDim`; `probs` is
/// [windows, heads, N, N]; `bias` is the dense [heads, N, N] expansion of
/// `relative_position_bias_table` [(2Wh−1)(2Ww−1), heads]; `mask` is [windowsPerSample, N, N]
/// (window `w` uses `mask[w % windowsPerSample]`). Windows run in parallel on the thread budget,
/// with OpenBLAS held to one thread meanwhile (`BLAS.singleThreaded`).
public struct WindowAttentionShape: Sendable {
    public var windows: Int, windowsPerSample: Int, tokens: Int, heads: Int, headDim: Int
    public init(windows: Int, windowsPerSample: Int, tokens: Int, heads: Int, headDim: Int) {
        self.windows = windows; self.windowsPerSample = windowsPerSample; self.tokens = tokens
        self.heads = heads; self.headDim = headDim
    }
    public var dim: Int { heads * headDim }
    public var scale: Float { 1 / Float(headDim).squareRoot() }
}

public enum WindowAttention {
    /// `bias[h, i, j] = table[index[i, j], h]`.
    @inlinable
    public static func expandBias(bias: UnsafeMutablePointer<Float>, table: UnsafePointer<Float>,
                                  index: UnsafePointer<Int32>, heads: Int, tokens n: Int) {
        for h in 0..<heads {
            for ij in 0..<(n * n) { bias[h * n * n + ij] = table[Int(index[ij]) * heads + h] }
        }
    }

    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                               qkv: UnsafePointer<Float>, bias: UnsafePointer<Float>, mask: UnsafePointer<Float>?,
                               shape s: WindowAttentionShape) {
        BLAS.singleThreaded { forwardWindows(out: out, probs: probs, qkv: qkv, bias: bias, mask: mask, shape: s) }
    }

    @inlinable
    static func forwardWindows(out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                               qkv: UnsafePointer<Float>, bias: UnsafePointer<Float>, mask: UnsafePointer<Float>?,
                               shape s: WindowAttentionShape) {
        let box = UncheckedBox((out, probs, qkv, bias, mask))
        let (n, hd, c, heads) = (s.tokens, s.headDim, s.dim, s.heads)
        Threads.parallelFor(s.windows, chunksPerThread: 8) { range in
            let (out, probs, qkv, bias, mask) = box.value
            for w in range {
                let x = qkv + w * n * 3 * c
                let m = mask.map { $0 + (w % s.windowsPerSample) * n * n }
                for h in 0..<heads {
                    let p = probs + (w * heads + h) * n * n
                    BLAS.gemm(transB: true, m: n, n: n, k: hd, alpha: s.scale, a: x + h * hd, lda: 3 * c,
                              b: x + c + h * hd, ldb: 3 * c, beta: 0, c: p, ldc: n)
                    softmaxRows(p, bias: bias + h * n * n, mask: m, rows: n, cols: n)
                    BLAS.gemm(m: n, n: hd, k: n, a: p, lda: n, b: x + 2 * c + h * hd, ldb: 3 * c,
                              beta: 0, c: out + w * n * c + h * hd, ldc: c)
                }
            }
        }
    }

    /// Adds to or overwrites (`accumulate`) `dqkv`, uses `dscores` ([windows, heads, N, N]) as
    /// scratch, and accumulates the bias-table gradient into `dtable`.
    @inlinable
    public static func backward(dqkv: UnsafeMutablePointer<Float>, dtable: UnsafeMutablePointer<Float>,
                                dscores: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                probs: UnsafePointer<Float>, qkv: UnsafePointer<Float>, index: UnsafePointer<Int32>,
                                shape s: WindowAttentionShape, accumulate: Bool) {
        BLAS.singleThreaded {
            backwardWindows(dqkv: dqkv, dscores: dscores, dout: dout, probs: probs, qkv: qkv, shape: s, accumulate: accumulate)
        }
        addTableGradient(dtable: dtable, dscores: dscores, index: index, shape: s)
    }

    @inlinable
    static func backwardWindows(dqkv: UnsafeMutablePointer<Float>, dscores: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                probs: UnsafePointer<Float>, qkv: UnsafePointer<Float>, shape s: WindowAttentionShape,
                                accumulate: Bool) {
        let (n, hd, c, heads) = (s.tokens, s.headDim, s.dim, s.heads)
        let beta: Float = accumulate ? 1 : 0
        let box = UncheckedBox((dqkv, dscores, dout, probs, qkv))
        Threads.parallelFor(s.windows, chunksPerThread: 8) { range in
            let (dqkv, dscores, dout, probs, qkv) = box.value
            for w in range {
                let x = qkv + w * n * 3 * c, dx = dqkv + w * n * 3 * c, g = dout + w * n * c
                for h in 0..<heads {
                    let p = probs + (w * heads + h) * n * n, ds = dscores + (w * heads + h) * n * n
                    // dP = dO vᵀ ; dv = Pᵀ dO
                    BLAS.gemm(transB: true, m: n, n: n, k: hd, a: g + h * hd, lda: c, b: x + 2 * c + h * hd, ldb: 3 * c,
                              beta: 0, c: ds, ldc: n)
                    BLAS.gemm(transA: true, m: n, n: hd, k: n, a: p, lda: n, b: g + h * hd, ldb: c,
                              beta: beta, c: dx + 2 * c + h * hd, ldc: 3 * c)
                    // dS = P ⊙ (dP − Σ dP ⊙ P), in place.
                    Softmax.backward(dinp: ds, out: p, dout: ds, rows: n, cols: n, accumulate: false)
                    // dq = scale · dS k ; dk = scale · dSᵀ q
                    BLAS.gemm(m: n, n: hd, k: n, alpha: s.scale, a: ds, lda: n, b: x + c + h * hd, ldb: 3 * c,
                              beta: beta, c: dx + h * hd, ldc: 3 * c)
                    BLAS.gemm(transA: true, m: n, n: hd, k: n, alpha: s.scale, a: ds, lda: n, b: x + h * hd, ldb: 3 * c,
                              beta: beta, c: dx + c + h * hd, ldc: 3 * c)
                }
            }
        }
    }

    /// Bias table: sum dS over windows per (head, row), then scatter through the index (accumulates).
    @inlinable
    static func addTableGradient(dtable: UnsafeMutablePointer<Float>, dscores: UnsafeMutablePointer<Float>,
                                 index: UnsafePointer<Int32>, shape s: WindowAttentionShape) {
        let (n, heads) = (s.tokens, s.heads)
        let tbox = UncheckedBox((dtable, UnsafePointer(dscores), index))
        Threads.parallelFor(heads) { range in
            let (dtable, dscores, index) = tbox.value
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { tmp in
                let acc = tmp.baseAddress!
                for h in range {
                    for i in 0..<n {
                        acc.update(repeating: 0, count: n)
                        for w in 0..<s.windows {
                            let d = dscores + ((w * heads + h) * n + i) * n
                            for j in 0..<n { acc[j] += d[j] }
                        }
                        for j in 0..<n { dtable[Int(index[i * n + j]) * heads + h] += acc[j] }
                    }
                }
            }
        }
    }

    /// In-place softmax of `scores + bias (+ mask)` over each row.
    @inlinable
    static func softmaxRows(_ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, mask: UnsafePointer<Float>?,
                            rows: Int, cols: Int) {
        for i in 0..<rows {
            let r = x + i * cols, b = bias + i * cols
            if let mask {
                let m = mask + i * cols
                for j in 0..<cols { r[j] += b[j] + m[j] }
            } else {
                for j in 0..<cols { r[j] += b[j] }
            }
            Softmax.forward(out: r, inp: r, rows: 1, cols: cols)
        }
    }
}
