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
    /// Rounds of window chunks per thread (`Threads.chunkBounds`): windows shrink to one per chunk
    /// at the end of a loop, so threads finish together.
    @usableFromInline static let chunkRounds = 8

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
        Threads.parallelFor(s.windows, chunksPerThread: chunkRounds) { range in
            let (out, probs, qkv, bias, mask) = box.value
            for w in range {
                let x = qkv + w * n * 3 * c
                let m = mask.map { $0 + (w % s.windowsPerSample) * n * n }
                for h in 0..<heads {
                    let p = probs + (w * heads + h) * n * n
                    BLAS.gemm(transB: true, m: n, n: n, k: hd, alpha: s.scale, a: x + h * hd, lda: 3 * c,
                              b: x + c + h * hd, ldb: 3 * c, beta: 0, c: p, ldc: n)
                    Softmax.forwardInPlace(p, adding: bias + h * n * n, m, rows: n, cols: n)
                    BLAS.gemm(m: n, n: hd, k: n, a: p, lda: n, b: x + 2 * c + h * hd, ldb: 3 * c,
                              beta: 0, c: out + w * n * c + h * hd, ldc: c)
                }
            }
        }
    }

    /// Adds to or overwrites (`accumulate`) `dqkv`, and accumulates the bias-table gradient into
    /// `dtable`: each chunk of windows sums its score gradients per head while they are in cache,
    /// and the chunks' sums are added in chunk order and scattered through `index` at the end.
    @inlinable
    public static func backward(dqkv: UnsafeMutablePointer<Float>, dtable: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, probs: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
                                index: UnsafePointer<Int32>, shape s: WindowAttentionShape, accumulate: Bool) {
        let (n, heads) = (s.tokens, s.heads), tsize = heads * n * n
        let bounds = Threads.chunkBounds(s.windows, chunksPerThread: chunkRounds), chunks = bounds.count - 1
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, chunks * (tsize + n * n))) { tmp in
            let sums = tmp.baseAddress!, scores = sums + chunks * tsize
            BLAS.singleThreaded {
                backwardWindows(dqkv: dqkv, sums: sums, scores: scores, bounds: bounds, dout: dout, probs: probs, qkv: qkv,
                                shape: s, accumulate: accumulate)
            }
            for c in 1..<max(1, chunks) { Reduce.add(sums, sums + c * tsize, tsize) }
            for h in 0..<heads {
                for ij in 0..<(n * n) { dtable[Int(index[ij]) * heads + h] += sums[h * n * n + ij] }
            }
        }
    }

    /// Chunk `c` of the windows (`bounds`, from `Threads.chunkBounds`): `sums[c]` ([heads, N, N])
    /// gets its score gradients, `scores[c]` (N × N) holds one window-head's at a time.
    @inlinable
    static func backwardWindows(dqkv: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>,
                                bounds: [Int], dout: UnsafePointer<Float>, probs: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
                                shape s: WindowAttentionShape, accumulate: Bool) {
        let (n, hd, c, heads) = (s.tokens, s.headDim, s.dim, s.heads)
        let beta: Float = accumulate ? 1 : 0
        let box = UncheckedBox((dqkv, sums, scores, dout, probs, qkv))
        Threads.forEachChunk(bounds) { chunk, windows in
            let (dqkv, sums, scores, dout, probs, qkv) = box.value
            let sum = sums + chunk * heads * n * n, ds = scores + chunk * n * n
            sum.update(repeating: 0, count: heads * n * n)
            for w in windows {
                let x = qkv + w * n * 3 * c, dx = dqkv + w * n * 3 * c, g = dout + w * n * c
                for h in 0..<heads {
                    let p = probs + (w * heads + h) * n * n
                    // dP = dO vᵀ ; dv = Pᵀ dO
                    BLAS.gemm(transB: true, m: n, n: n, k: hd, a: g + h * hd, lda: c, b: x + 2 * c + h * hd, ldb: 3 * c,
                              beta: 0, c: ds, ldc: n)
                    BLAS.gemm(transA: true, m: n, n: hd, k: n, a: p, lda: n, b: g + h * hd, ldb: c,
                              beta: beta, c: dx + 2 * c + h * hd, ldc: 3 * c)
                    // dS = P ⊙ (dP − Σ dP ⊙ P), in place; the bias table's gradient is Σ dS.
                    Softmax.backward(dinp: ds, out: p, dout: ds, rows: n, cols: n, accumulate: false)
                    Reduce.add(sum + h * n * n, ds, n * n)
                    // dq = scale · dS k ; dk = scale · dSᵀ q
                    BLAS.gemm(m: n, n: hd, k: n, alpha: s.scale, a: ds, lda: n, b: x + c + h * hd, ldb: 3 * c,
                              beta: beta, c: dx + h * hd, ldc: 3 * c)
                    BLAS.gemm(transA: true, m: n, n: hd, k: n, alpha: s.scale, a: ds, lda: n, b: x + h * hd, ldb: 3 * c,
                              beta: beta, c: dx + c + h * hd, ldc: 3 * c)
                }
            }
        }
    }
}
