import CKernels

/// How a linear layer's GEMMs use the thread budget.
public enum GemmThreading: String, Sendable, CaseIterable {
    /// One GEMM call per linear; OpenBLAS threads it (`Threads.set` sets OpenBLAS's count).
    case blas
    /// Our own threads split the rows (forward, input gradient) or output features (weight
    /// gradient) and each chunk calls single-threaded BLAS: one thread pool for everything, no
    /// OpenBLAS workers spinning while our loops run. Callers hold OpenBLAS to one thread
    /// (`BLAS.singleThreaded`). The encoder's default (swin-t, 2 threads: ~4.0 vs ~3.3 samples/s).
    case rows
}

/// Fully connected layer, PyTorch layout: `out[r, o] = Σ_i inp[r, i] · weight[o, i] + bias[o]`.
///
/// Backward follows the kernels' one rule (docs/architecture.md): parameter gradients
/// (`dweight`, `dbias`) always accumulate — zero them once per step — and the input gradient
/// `dinp` (may be nil) is added to or overwritten as `accumulate` says.
public enum Linear {
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               rows: Int, inDim: Int, outDim: Int, threading: GemmThreading = .blas) {
        let split = threading == .rows && Threads.count > 1
        let box = UncheckedBox((out, inp, weight, bias))
        Threads.parallelFor(split ? rows : 1, minChunk: 256) { range in
            let (out, inp, weight, bias) = box.value
            let lo = split ? range.lowerBound : 0, count = split ? range.count : rows
            let o = out + lo * outDim
            if let bias { for r in 0..<count { (o + r * outDim).update(from: bias, count: outDim) } }
            BLAS.gemm(transB: true, m: count, n: outDim, k: inDim, a: inp + lo * inDim, b: weight,
                      beta: bias == nil ? 0 : 1, c: o)
        }
    }

    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
                                dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                rows: Int, inDim: Int, outDim: Int, accumulate: Bool, threading: GemmThreading = .blas) {
        let split = threading == .rows && Threads.count > 1
        let box = UncheckedBox((dinp, dweight, dout, inp, weight))
        let beta: Float = accumulate ? 1 : 0
        if dinp != nil {
            Threads.parallelFor(split ? rows : 1, minChunk: 256) { range in
                let (dinp, _, dout, _, weight) = box.value
                let lo = split ? range.lowerBound : 0, count = split ? range.count : rows
                BLAS.gemm(m: count, n: inDim, k: outDim, a: dout + lo * outDim, b: weight, beta: beta, c: dinp! + lo * inDim)
            }
        }
        Threads.parallelFor(split ? outDim : 1, minChunk: 16) { range in
            let (_, dweight, dout, inp, _) = box.value
            let lo = split ? range.lowerBound : 0, count = split ? range.count : outDim
            BLAS.gemm(transA: true, m: count, n: inDim, k: rows, a: dout + lo, lda: outDim,
                      b: inp, ldb: inDim, beta: 1, c: dweight + lo * inDim, ldc: inDim)
        }
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

    /// `y (+)= x` over `n` floats: added, or copied when not accumulating (a backward kernel's
    /// input-gradient rule).
    @inlinable
    public static func store(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int, accumulate: Bool) {
        if accumulate { add(y, x, n) } else { y.update(from: x, count: n) }
    }

    /// Σ x[i]·y[i] (`Kernels` vector width).
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float { avk_dot(x, y, n) }
}
