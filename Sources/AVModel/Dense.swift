import AVTensor

/// How the encoder's large GEMMs (the linears over all tokens) use the thread budget.
public enum GemmThreading: String, Sendable, CaseIterable {
    /// One GEMM call per linear; OpenBLAS threads it (`Threads.set` sets OpenBLAS's count).
    case blas
    /// Our own threads split the rows (forward, input gradient) or output features (weight
    /// gradient) and each chunk calls single-threaded BLAS: one thread pool for everything, no
    /// OpenBLAS workers spinning while our loops run. The encoder's default (swin-t, 2 threads:
    /// ~4.0 vs ~3.3 samples/s in the same run).
    case rows
}

/// `Linear` with a choice of threading (same semantics: backward accumulates weight/bias
/// gradients; the input gradient is overwritten here).
enum Dense {
    static func forward(_ mode: GemmThreading, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows: Int, inDim: Int, outDim: Int) {
        guard mode == .rows, Threads.count > 1 else {
            Linear.forward(out: out, inp: inp, weight: weight, bias: bias, rows: rows, inDim: inDim, outDim: outDim)
            return
        }
        let box = UncheckedBox((out, inp, weight, bias))
        Threads.parallelFor(rows, minChunk: 256) { range in
            let (out, inp, weight, bias) = box.value
            let o = out + range.lowerBound * outDim
            if let bias { for r in 0..<range.count { (o + r * outDim).update(from: bias, count: outDim) } }
            BLAS.gemm(transB: true, m: range.count, n: outDim, k: inDim, a: inp + range.lowerBound * inDim, b: weight,
                      beta: bias == nil ? 0 : 1, c: o)
        }
    }

    static func backward(_ mode: GemmThreading, dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
                         dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>,
                         weight: UnsafePointer<Float>, rows: Int, inDim: Int, outDim: Int) {
        guard mode == .rows, Threads.count > 1 else {
            Linear.backward(dinp: dinp, dweight: dweight, dbias: dbias, dout: dout, inp: inp, weight: weight,
                            rows: rows, inDim: inDim, outDim: outDim, accumulateInput: false)
            return
        }
        let box = UncheckedBox((dinp, dweight, dout, inp, weight))
        if dinp != nil {
            Threads.parallelFor(rows, minChunk: 256) { range in
                let (dinp, _, dout, _, weight) = box.value
                BLAS.gemm(m: range.count, n: inDim, k: outDim, a: dout + range.lowerBound * outDim, b: weight,
                          beta: 0, c: dinp! + range.lowerBound * inDim)
            }
        }
        Threads.parallelFor(outDim, minChunk: 16) { range in
            let (_, dweight, dout, inp, _) = box.value
            BLAS.gemm(transA: true, m: range.count, n: inDim, k: rows, a: dout + range.lowerBound, lda: outDim,
                      b: inp, ldb: inDim, beta: 1, c: dweight + range.lowerBound * inDim, ldc: inDim)
        }
        if let dbias { Reduce.addColumnSums(dbias, dout, rows: rows, cols: outDim) }
    }
}
