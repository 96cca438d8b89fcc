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
///
/// Fusion (`.rows` on tall, narrow layers, `Linear.fuses`): each thread walks its rows in tiles
/// that stay in L2 — forward: GEMM, bias, the caller's `epilogue` (e.g. GELU); backward: the
/// caller's `prologue` (e.g. GELU's backward, rewriting the `dout` rows in place), the input
/// gradient, and the tile's share of the weight and bias gradients (per-chunk partial sums, added
/// at the end in chunk order) — so `dout` and `inp` cross memory once instead of three and two times.
public enum Linear {
    /// A per-row-range step fused into a linear: called with rows lo..<hi once their data is ready
    /// (forward: `out` rows complete; backward: before the `dout` rows are read, which it may
    /// rewrite). Runs serially per range; disjoint ranges may run at once on different threads,
    /// so it must not start parallel loops itself.
    public typealias RowHook = (Range<Int>) -> Void

    /// Rows per fused tile: the tile's activations and gradients (~512 KiB) stay in L2.
    @inlinable
    public static func tileRows(inDim: Int, outDim: Int) -> Int {
        min(1024, max(128, 131_072 / max(1, outDim + 2 * inDim) / 32 * 32))
    }

    /// Whether `.rows` fuses this shape: small weights (≤ 48 Ki floats: re-packing them per tile and
    /// keeping per-thread weight-gradient sums costs little) and at least two tiles of rows
    /// (swin-t: the stage-0 linears and stage 1's projection; the rest keep one GEMM per thread
    /// and operand).
    @inlinable
    public static func fuses(rows: Int, inDim: Int, outDim: Int, threading: GemmThreading) -> Bool {
        threading == .rows && inDim * outDim <= 49_152 && rows >= 2 * tileRows(inDim: inDim, outDim: outDim)
    }

    /// Whether `.rows` runs this layer's forward and input-gradient GEMMs (and, when fused, its
    /// weight gradient) on the pack-free `DirectGemm` rather than OpenBLAS: on vector paths, for
    /// weights up to 576 Ki floats (swin-t stages 0–2; bias added in registers, no packing, rows
    /// split finely so threads balance). Wider reductions (stage 3's K = 3072) run slower than
    /// OpenBLAS, and the unfused weight gradient gained nothing in whole-step A/B runs (`bench swin
    /// --direct-gemm both`), so those keep OpenBLAS.
    @inlinable
    public static func usesDirectGemm(inDim: Int, outDim: Int, threading: GemmThreading) -> Bool {
        threading == .rows && inDim * outDim <= 589_824 && DirectGemm.isPreferred
    }

    /// Rounds of chunks per thread for row splits on `DirectGemm` and the fused tiles
    /// (`Threads.chunkBounds`): no per-call packing, so chunks that shrink to `directMinRows`
    /// (or a tile) cost little and let threads finish together, even when the host slows one.
    public static let balancedChunks = 8

    /// The smallest row chunk of a `DirectGemm` row split: a few register tiles (12 rows on
    /// AVX-512, 6 on AVX2).
    public static let directMinRows = 48

    /// Chunk bounds of a row split (`Threads.forEachChunk`): all rows at once when not `split`;
    /// pack-free GEMMs in shrinking chunks down to `minRows` (default `directMinRows`), so threads
    /// balance each other; OpenBLAS in one chunk per thread of at least `minRows` (default 256),
    /// as each call re-packs the weight.
    @inlinable
    static func rowSplit(_ rows: Int, split: Bool, direct: Bool, minRows: Int? = nil) -> [Int] {
        guard split else { return [0, rows] }
        return Threads.chunkBounds(rows, minChunk: minRows ?? (direct ? directMinRows : 256), chunksPerThread: direct ? balancedChunks : 1)
    }

    /// Whether a split GEMM with `cols` output columns divides those columns (in blocks of 16)
    /// rather than its rows: when each thread's rows would be fewer than the columns (swin-t's
    /// stage 3 and late patch mergings), so no thread packs the whole weight for a short product.
    @inlinable
    public static func splitsColumns(rows: Int, cols: Int) -> Bool {
        rows < Threads.count * cols && cols >= 16 * Threads.count
    }

    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               rows: Int, inDim: Int, outDim: Int, threading: GemmThreading = .blas,
                               epilogue: RowHook? = nil) {
        let fused = fuses(rows: rows, inDim: inDim, outDim: outDim, threading: threading)
        let split = threading == .rows && Threads.count > 1
        if split && !fused && splitsColumns(rows: rows, cols: outDim) {
            // Few rows, wide output: threads take blocks of output features (each packs only its
            // slice of the weight).
            let box = UncheckedBox((out, inp, weight, bias))
            Threads.parallelFor(outDim / 16) { blocks in
                let (out, inp, weight, bias) = box.value
                let lo = blocks.lowerBound * 16, hi = blocks.upperBound == outDim / 16 ? outDim : blocks.upperBound * 16
                if let bias { for r in 0..<rows { (out + r * outDim + lo).update(from: bias + lo, count: hi - lo) } }
                BLAS.gemm(transB: true, m: rows, n: hi - lo, k: inDim, a: inp, lda: inDim, b: weight + lo * inDim, ldb: inDim,
                          beta: bias == nil ? 0 : 1, c: out + lo, ldc: outDim)
            }
            if let epilogue { Threads.parallelFor(rows, minChunk: 256) { epilogue($0) } }
            return
        }
        let tile = fused ? max(512, tileRows(inDim: inDim, outDim: outDim)) : rows
        // The pack-free GEMM (fused tiles, or each thread's rows) on the weight transposed once per
        // call, bias added in its registers.
        let direct = usesDirectGemm(inDim: inDim, outDim: outDim, threading: threading)
        let wt = UnsafeMutablePointer<Float>.allocate(capacity: direct ? inDim * outDim : 0)
        defer { wt.deallocate() }
        if direct { DirectGemm.transpose(weight, rows: outDim, cols: inDim, into: wt) }
        let box = UncheckedBox((out, inp, weight, bias, epilogue, wt))
        Threads.forEachChunk(rowSplit(rows, split: split, direct: direct, minRows: fused ? tile : nil)) { _, range in
            let (out, inp, weight, bias, epilogue, wt) = box.value
            var lo = range.lowerBound
            while lo < range.upperBound {
                let hi = min(range.upperBound, lo + tile), o = out + lo * outDim
                if direct {
                    DirectGemm.nn(m: hi - lo, n: outDim, k: inDim, a: inp + lo * inDim, lda: inDim, b: wt, ldb: outDim,
                                  c: o, ldc: outDim, bias: bias, accumulate: false)
                } else {
                    if let bias { for r in 0..<(hi - lo) { (o + r * outDim).update(from: bias, count: outDim) } }
                    BLAS.gemm(transB: true, m: hi - lo, n: outDim, k: inDim, a: inp + lo * inDim, b: weight,
                              beta: bias == nil ? 0 : 1, c: o)
                }
                if split || fused { epilogue?(lo..<hi) }   // while the rows are still in cache
                lo = hi
            }
        }
        if !split && !fused, let epilogue { Threads.parallelFor(rows, minChunk: 256) { epilogue($0) } }
    }

    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
                                dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                rows: Int, inDim: Int, outDim: Int, accumulate: Bool, threading: GemmThreading = .blas,
                                prologue: RowHook? = nil) {
        if fuses(rows: rows, inDim: inDim, outDim: outDim, threading: threading) {
            fusedBackward(dinp: dinp, dweight: dweight, dbias: dbias, dout: dout, inp: inp, weight: weight, rows: rows,
                          inDim: inDim, outDim: outDim, accumulate: accumulate, prologue: prologue)
            return
        }
        let split = threading == .rows && Threads.count > 1
        // Row chunks of the input gradient run the prologue on their rows just before reading them;
        // otherwise it is a pass of its own, before both GEMMs.
        let rowChunks = dinp != nil && split && !splitsColumns(rows: rows, cols: inDim)
        if !rowChunks, let prologue { Threads.parallelFor(rows, minChunk: 256) { prologue($0) } }
        let box = UncheckedBox((dinp, dweight, dout, inp, weight))
        let beta: Float = accumulate ? 1 : 0
        if dinp != nil && split && !rowChunks {
            Threads.parallelFor(inDim / 16) { blocks in
                let (dinp, _, dout, _, weight) = box.value
                let lo = blocks.lowerBound * 16, hi = blocks.upperBound == inDim / 16 ? inDim : blocks.upperBound * 16
                BLAS.gemm(m: rows, n: hi - lo, k: outDim, a: dout, lda: outDim, b: weight + lo, ldb: inDim, beta: beta,
                          c: dinp! + lo, ldc: inDim)
            }
        } else if dinp != nil {
            let direct = usesDirectGemm(inDim: inDim, outDim: outDim, threading: threading)
            Threads.forEachChunk(rowSplit(rows, split: split, direct: direct)) { _, range in
                let (dinp, _, dout, _, weight) = box.value
                if rowChunks { prologue?(range) }
                inputGradient(dinp! + range.lowerBound * inDim, dout: dout + range.lowerBound * outDim, weight: weight, rows: range.count,
                              inDim: inDim, outDim: outDim, accumulate: accumulate, direct: direct)
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

    /// `dinp (+)= dout · weight` over `rows` contiguous rows, on `DirectGemm` or one BLAS call.
    @inlinable
    static func inputGradient(_ dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                              rows: Int, inDim: Int, outDim: Int, accumulate: Bool, direct: Bool) {
        if direct {
            DirectGemm.nn(m: rows, n: inDim, k: outDim, a: dout, lda: outDim, b: weight, ldb: inDim, c: dinp, ldc: inDim,
                          accumulate: accumulate)
        } else {
            BLAS.gemm(m: rows, n: inDim, k: outDim, a: dout, b: weight, beta: accumulate ? 1 : 0, c: dinp)
        }
    }

    /// The fused backward: chunk c of the rows is walked in tiles; chunk 0 accumulates into
    /// `dweight` and `dbias` directly, the others into partial sums added at the end (in chunk order).
    @inlinable
    static func fusedBackward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
                              dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                              inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                              rows: Int, inDim: Int, outDim: Int, accumulate: Bool, prologue: RowHook?) {
        let tile = tileRows(inDim: inDim, outDim: outDim), wsize = outDim * inDim
        let direct = usesDirectGemm(inDim: inDim, outDim: outDim, threading: .rows)
        // Shrinking chunks (at least a tile each) when the tiles are pack-free, so threads finish
        // together; each chunk > 0 sums into its own partial, which its first tile overwrites
        // (only the bias partials need zeros).
        let bounds = rowSplit(rows, split: true, direct: direct, minRows: tile), chunks = bounds.count - 1
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, (chunks - 1) * (wsize + outDim))) { tmp in
            let partial = tmp.baseAddress!
            for c in 1..<max(1, chunks) { (partial + c * (wsize + outDim) - outDim).initialize(repeating: 0, count: outDim) }
            let box = UncheckedBox((dinp, dweight, dbias, dout, inp, weight, prologue, partial))
            Threads.forEachChunk(bounds) { c, chunk in
                let (dinp, dweight, dbias, dout, inp, weight, prologue, partial) = box.value
                let dw = c == 0 ? dweight : partial + (c - 1) * (wsize + outDim)
                let db = dbias.map { c == 0 ? $0 : dw + wsize }
                var lo = chunk.lowerBound
                while lo < chunk.upperBound {
                    let hi = min(chunk.upperBound, lo + tile), n = hi - lo, g = dout + lo * outDim
                    prologue?(lo..<hi)
                    if let dinp {
                        inputGradient(dinp + lo * inDim, dout: g, weight: weight, rows: n, inDim: inDim, outDim: outDim,
                                      accumulate: accumulate, direct: direct)
                    }
                    let into = c == 0 || lo > chunk.lowerBound
                    if direct {
                        DirectGemm.tn(m: outDim, n: inDim, k: n, a: g, lda: outDim, b: inp + lo * inDim, ldb: inDim,
                                      c: dw, ldc: inDim, accumulate: into)
                    } else {
                        BLAS.gemm(transA: true, m: outDim, n: inDim, k: n, a: g, lda: outDim, b: inp + lo * inDim, ldb: inDim,
                                  beta: into ? 1 : 0, c: dw, ldc: inDim)
                    }
                    if let db { for r in 0..<n { Reduce.add(db, g + r * outDim, outDim) } }
                    lo = hi
                }
            }
            for c in 1..<max(1, chunks) {
                let p = partial + (c - 1) * (wsize + outDim)
                Reduce.add(dweight, p, wsize)
                if let dbias { Reduce.add(dbias, p + wsize, outDim) }
            }
        }
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
