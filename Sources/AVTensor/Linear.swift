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
    /// `acc[c] += Σ_r x[r, c]`. Row chunks run in parallel, each summing into its own partial
    /// row (SIMD16), which are then added to `acc`.
    @inlinable
    public static func addColumnSums(_ acc: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, cols: Int) {
        let chunks = min(Threads.count, max(1, rows * cols / 65_536))
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, chunks * cols)) { tmp in
            let part = tmp.baseAddress!
            part.initialize(repeating: 0, count: chunks * cols)
            let box = UncheckedBox((part, x))
            Threads.parallelFor(chunks) { range in
                let (part, x) = box.value
                for c in range {
                    for r in (rows * c / chunks)..<(rows * (c + 1) / chunks) { add(part + c * cols, x + r * cols, cols) }
                }
            }
            for c in 0..<chunks { add(acc, part + c * cols, cols) }
        }
    }

    /// `y[i] += x[i]` with SIMD16 loads and stores.
    @inlinable
    public static func add(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
        let yr = UnsafeMutableRawPointer(y), xr = UnsafeRawPointer(x)
        var i = 0
        while i + 16 <= n {
            let v = yr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                + xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            yr.storeBytes(of: v, toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n { y[i] += x[i]; i += 1 }
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
