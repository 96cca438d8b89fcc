/// Fully connected layer, PyTorch layout: `out[r, o] = Σ_i inp[r, i] · weight[o, i] + bias[o]`.
///
/// Backward *accumulates* into `dinp`, `dweight`, `dbias` (llm.c convention), so residual
/// branches and micro-batches add up; zero them first where needed. `dinp` may be nil. With
/// `accumulateInput: false`, `dinp` is overwritten instead (saves zeroing a scratch buffer).
public enum Linear {
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               rows: Int, inDim: Int, outDim: Int) {
        if let bias {
            let box = UncheckedBox((out, bias))
            Threads.parallelFor(rows, minChunk: max(1, 16_384 / max(1, outDim))) { range in
                let (out, bias) = box.value
                for r in range { (out + r * outDim).update(from: bias, count: outDim) }
            }
        }
        BLAS.gemm(transA: false, transB: true, m: rows, n: outDim, k: inDim,
                  a: inp, b: weight, beta: bias == nil ? 0 : 1, c: out)
    }

    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
                                dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                rows: Int, inDim: Int, outDim: Int, accumulateInput: Bool = true) {
        if let dinp {
            BLAS.gemm(m: rows, n: inDim, k: outDim, a: dout, b: weight, beta: accumulateInput ? 1 : 0, c: dinp)
        }
        BLAS.gemm(transA: true, m: outDim, n: inDim, k: rows, a: dout, b: inp, beta: 1, c: dweight)
        if let dbias { Reduce.addColumnSums(dbias, dout, rows: rows, cols: outDim) }
    }
}

/// Small reductions shared by kernels.
public enum Reduce {
    /// `acc[c] += Σ_r x[r, c]`.
    @inlinable
    public static func addColumnSums(_ acc: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, cols: Int) {
        // Parallel over column blocks (each thread owns its slice of `acc`).
        let box = UncheckedBox((acc, x))
        Threads.parallelFor((cols + 15) / 16, minChunk: max(1, 4096 / max(1, rows))) { range in
            let (acc, x) = box.value
            let lo = range.lowerBound * 16, hi = min(cols, range.upperBound * 16)
            for r in 0..<rows {
                let row = x + r * cols
                for c in lo..<hi { acc[c] += row[c] }
            }
        }
    }

    /// Σ x[i] with SIMD16 accumulators.
    @inlinable
    public static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= n {
            acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            i += 16
        }
        var s = acc.sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    /// Σ x[i]·y[i] with SIMD16 accumulators.
    @inlinable
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= n {
            acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
                * UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
            i += 16
        }
        var s = acc.sum()
        while i < n { s += x[i] * y[i]; i += 1 }
        return s
    }
}
