import XCTest
import Foundation
import AVTensor
import TestSupport

/// Finite-difference gradient checks for every forward/backward kernel pair. Each check uses the
/// scalar L = Σ out ⊙ r for a random r, so backward runs with dout = r.
final class KernelGradientTests: XCTestCase {
    func check(_ name: String, analytic: [Float], numeric: [Float], tol: Double = 2e-3,
               file: StaticString = #filePath, line: UInt = #line) {
        GradientCheck.assertMatches(name, analytic: analytic, numeric: numeric, tol: tol, file: file, line: line)
    }

    func dotD(_ a: [Float], _ b: [Float]) -> Double { GradientCheck.dot(a, b) }

    func testLinear() {
        let (rows, i, o) = (5, 7, 4)
        let x = TestSupport.randn(rows * i, seed: 1), w = TestSupport.randn(o * i, seed: 2), b = TestSupport.randn(o, seed: 3)
        let r = TestSupport.randn(rows * o, seed: 4)
        func f(_ x: [Float], _ w: [Float], _ b: [Float]) -> Double {
            var y = [Float](repeating: 0, count: rows * o)
            Linear.forward(out: &y, inp: x, weight: w, bias: b, rows: rows, inDim: i, outDim: o)
            return dotD(y, r)
        }
        var dw = [Float](repeating: 0, count: w.count), db = [Float](repeating: 0, count: o)
        let dx = GradientCheck.inputGradient(count: x.count) { dx, acc in
            dw = [Float](repeating: 0, count: w.count); db = [Float](repeating: 0, count: o)
            Linear.backward(dinp: &dx, dweight: &dw, dbias: &db, dout: r, inp: x, weight: w, rows: rows, inDim: i, outDim: o, accumulate: acc)
        }
        check("linear dx", analytic: dx, numeric: TestSupport.numericGradient(x) { f($0, w, b) })
        check("linear dw", analytic: dw, numeric: TestSupport.numericGradient(w) { f(x, $0, b) })
        check("linear db", analytic: db, numeric: TestSupport.numericGradient(b) { f(x, w, $0) })
        // Forward values against a naive loop.
        var y = [Float](repeating: 0, count: rows * o)
        Linear.forward(out: &y, inp: x, weight: w, bias: b, rows: rows, inDim: i, outDim: o)
        var ref = [Float](repeating: 0, count: rows * o)
        for rr in 0..<rows { for oo in 0..<o { ref[rr * o + oo] = b[oo] + (0..<i).reduce(0) { $0 + x[rr * i + $1] * w[oo * i + $1] } } }
        XCTAssertLessThan(TestSupport.relativeError(y, ref), 1e-6)
    }

    func testLayerNorm() {
        let (rows, d) = (4, 24)
        let x = TestSupport.randn(rows * d, seed: 5).map { $0 * 2 + 0.5 }
        let w = TestSupport.randn(d, seed: 6).map { 1 + 0.3 * $0 }, b = TestSupport.randn(d, seed: 7)
        let r = TestSupport.randn(rows * d, seed: 8)
        var mean = [Float](repeating: 0, count: rows), rstd = mean
        func f(_ x: [Float], _ w: [Float], _ b: [Float]) -> Double {
            var y = [Float](repeating: 0, count: rows * d), m = mean, s = rstd
            LayerNorm.forward(out: &y, mean: &m, rstd: &s, inp: x, weight: w, bias: b, rows: rows, dim: d)
            return dotD(y, r)
        }
        var y = [Float](repeating: 0, count: rows * d)
        LayerNorm.forward(out: &y, mean: &mean, rstd: &rstd, inp: x, weight: w, bias: b, rows: rows, dim: d)
        // The saved statistics against a direct computation.
        for rr in 0..<rows {
            let row = Array(x[(rr * d)..<((rr + 1) * d)])
            let m = row.reduce(0, +) / Float(d)
            let v = row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Float(d)
            XCTAssertEqual(mean[rr], m, accuracy: 1e-5)
            XCTAssertEqual(rstd[rr], 1 / (v + 1e-5).squareRoot(), accuracy: 1e-4)
        }
        var dw = [Float](repeating: 0, count: d), db = dw
        let dx = GradientCheck.inputGradient(count: x.count) { dx, acc in
            dw = [Float](repeating: 0, count: d); db = dw
            LayerNorm.backward(dinp: &dx, dweight: &dw, dbias: &db, dout: r, inp: x, weight: w, mean: mean, rstd: rstd, rows: rows,
                               dim: d, accumulate: acc)
        }
        check("layernorm dx", analytic: dx, numeric: TestSupport.numericGradient(x, eps: 1e-2) { f($0, w, b) })
        check("layernorm dw", analytic: dw, numeric: TestSupport.numericGradient(w) { f(x, $0, b) })
        check("layernorm db", analytic: db, numeric: TestSupport.numericGradient(b) { f(x, w, $0) })
    }

    func testGELU() {
        let n = 40
        let x = TestSupport.randn(n, seed: 9).map { $0 * 2 }, r = TestSupport.randn(n, seed: 10)
        func f(_ x: [Float]) -> Double { var y = [Float](repeating: 0, count: n); GELU.forward(out: &y, inp: x, count: n); return dotD(y, r) }
        var y = [Float](repeating: 0, count: n)
        GELU.forward(out: &y, inp: x, count: n)
        // Reference values of the erf form: GELU(1) = 0.8413447, GELU(-1) = -0.1586553.
        var probe: [Float] = [0, 0]
        GELU.forward(out: &probe, inp: [1, -1], count: 2)
        XCTAssertEqual(probe[0], 0.8413447, accuracy: 1e-6)
        XCTAssertEqual(probe[1], -0.1586553, accuracy: 1e-6)
        let dx = GradientCheck.inputGradient(count: n) { GELU.backward(dinp: &$0, inp: x, dout: r, count: n, accumulate: $1) }
        // In place (dinp == dout), as the MLP backward runs it.
        var inPlace = r
        inPlace.withUnsafeMutableBufferPointer { GELU.backward(dinp: $0.baseAddress!, inp: x, dout: $0.baseAddress!, count: n, accumulate: false) }
        XCTAssertEqual(inPlace, dx)
        check("gelu", analytic: dx, numeric: TestSupport.numericGradient(x, eps: 1e-3) { f($0) })
    }

    func testSoftmax() {
        let (rows, cols) = (3, 11)
        let x = TestSupport.randn(rows * cols, seed: 11).map { $0 * 3 }, r = TestSupport.randn(rows * cols, seed: 12)
        func f(_ x: [Float]) -> Double { var y = [Float](repeating: 0, count: x.count); Softmax.forward(out: &y, inp: x, rows: rows, cols: cols); return dotD(y, r) }
        var y = [Float](repeating: 0, count: x.count)
        Softmax.forward(out: &y, inp: x, rows: rows, cols: cols)
        for rr in 0..<rows { XCTAssertEqual(y[(rr * cols)..<((rr + 1) * cols)].reduce(0, +), 1, accuracy: 1e-6) }
        let dx = GradientCheck.inputGradient(count: x.count) { Softmax.backward(dinp: &$0, out: y, dout: r, rows: rows, cols: cols, accumulate: $1) }
        // In place (dinp == dout), as window attention runs it.
        var inPlace = r
        inPlace.withUnsafeMutableBufferPointer {
            Softmax.backward(dinp: $0.baseAddress!, out: y, dout: $0.baseAddress!, rows: rows, cols: cols, accumulate: false)
        }
        XCTAssertEqual(inPlace, dx)
        check("softmax", analytic: dx, numeric: TestSupport.numericGradient(x, eps: 1e-3) { f($0) })
        // With two added terms (attention's bias and mask), against a double-precision softmax of the sum.
        let a = TestSupport.randn(rows * cols, seed: 13), b = TestSupport.randn(rows * cols, seed: 14).map { $0 * 50 }
        var z = x
        Softmax.forwardInPlace(&z, adding: a, b, rows: rows, cols: cols)
        for rr in 0..<rows {
            let t = (0..<cols).map { Double(x[rr * cols + $0]) + Double(a[rr * cols + $0]) + Double(b[rr * cols + $0]) }
            let e = t.map { Foundation.exp($0 - t.max()!) }, sum = e.reduce(0, +)
            for j in 0..<cols { XCTAssertEqual(z[rr * cols + j], Float(e[j] / sum), accuracy: 1e-6, "row \(rr) col \(j)") }
        }
    }

    func testL2Normalize() {
        let (rows, cols) = (4, 9)
        let x = TestSupport.randn(rows * cols, seed: 13), r = TestSupport.randn(rows * cols, seed: 14)
        var norms = [Float](repeating: 0, count: rows)
        func f(_ x: [Float]) -> Double { var y = [Float](repeating: 0, count: x.count), n = norms; L2Normalize.forward(out: &y, norms: &n, inp: x, rows: rows, cols: cols); return dotD(y, r) }
        var y = [Float](repeating: 0, count: x.count)
        L2Normalize.forward(out: &y, norms: &norms, inp: x, rows: rows, cols: cols)
        for rr in 0..<rows { XCTAssertEqual(y[(rr * cols)..<((rr + 1) * cols)].reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5) }
        let dx = GradientCheck.inputGradient(count: x.count) {
            L2Normalize.backward(dinp: &$0, out: y, norms: norms, dout: r, rows: rows, cols: cols, accumulate: $1)
        }
        // Rows written at a stride into a wider table.
        var wide = [Float](repeating: 9, count: rows * (cols + 3)), n2 = norms
        L2Normalize.forward(out: &wide, norms: &n2, inp: x, rows: rows, cols: cols, ldOut: cols + 3)
        for rr in 0..<rows {
            XCTAssertEqual(Array(wide[(rr * (cols + 3))..<(rr * (cols + 3) + cols)]), Array(y[(rr * cols)..<((rr + 1) * cols)]))
            XCTAssertEqual(Array(wide[(rr * (cols + 3) + cols)..<((rr + 1) * (cols + 3))]), [9, 9, 9])
        }
        check("l2norm", analytic: dx, numeric: TestSupport.numericGradient(x, eps: 1e-3) { f($0) })
    }

    func testMeanPool() {
        let (batch, tokens, ch) = (2, 5, 3)
        let x = TestSupport.randn(batch * tokens * ch, seed: 18), r = TestSupport.randn(batch * ch, seed: 19)
        func f(_ x: [Float]) -> Double { var y = [Float](repeating: 0, count: batch * ch); MeanPool.forward(out: &y, inp: x, batch: batch, tokens: tokens, channels: ch); return dotD(y, r) }
        var y = [Float](repeating: 0, count: batch * ch)
        MeanPool.forward(out: &y, inp: x, batch: batch, tokens: tokens, channels: ch)
        XCTAssertEqual(y[1], (0..<tokens).reduce(0) { $0 + x[$1 * ch + 1] } / Float(tokens), accuracy: 1e-6)
        let dx = GradientCheck.inputGradient(count: x.count) {
            MeanPool.backward(dinp: &$0, dout: r, batch: batch, tokens: tokens, channels: ch, accumulate: $1)
        }
        check("meanpool", analytic: dx, numeric: TestSupport.numericGradient(x) { f($0) })
    }

    /// GELU, its derivative and exp against Double references over a wide range, on every kernel
    /// path this CPU runs.
    func testFastMathAccuracy() {
        let xs = (0..<4000).map { Float($0 - 2000) * 0.01 }
        let es = Array(stride(from: Float(-80), through: 80, by: 0.37))
        for path in Kernels.available {
            Kernels.with(path) {
                var g = [Float](repeating: 0, count: xs.count), dg = [Float](repeating: 0, count: xs.count)
                GELU.forward(out: &g, inp: xs, count: xs.count)
                GELU.backward(dinp: &dg, inp: xs, dout: [Float](repeating: 1, count: xs.count), count: xs.count, accumulate: false)
                for (i, x) in xs.enumerated() {
                    let xd = Double(x), cdf = 0.5 * (1 + erf(xd / 2.squareRoot()))
                    XCTAssertEqual(Double(g[i]), xd * cdf, accuracy: 1e-6 * max(1, abs(xd)), "\(path) gelu(\(x))")
                    XCTAssertEqual(Double(dg[i]), cdf + xd * exp(-xd * xd / 2) / (2 * Double.pi).squareRoot(), accuracy: 2e-6, "\(path) gelu'(\(x))")
                }
                var e = [Float](repeating: 0, count: es.count)
                FastMath.exp(es, into: &e, es.count)
                for (x, y) in zip(es, e) { XCTAssertEqual(Double(y), exp(Double(x)), accuracy: 3e-7 * exp(Double(x)), "\(path) exp(\(x))") }
            }
        }
    }

    func testParameterStoreLayout() {
        let s = ParameterStore()
        let a = s.declare("a.weight", [3, 5], decay: true)
        let b = s.declare("a.bias", [3], decay: false)
        s.allocate()
        XCTAssertEqual(a.offset, 0)
        XCTAssertEqual(b.offset % 16, 0)
        XCTAssertGreaterThanOrEqual(b.offset, 15)
        XCTAssertEqual(s.parameterCount, 18)
        s.value(b)[2] = 7
        XCTAssertEqual(s.values[b.offset + 2], 7)
        XCTAssertEqual(s.view("a.bias"), b)
    }

    func testThreadedLoopsMatchSerial() {
        // GELU, LayerNorm and the row-split linear divide work across the thread budget; results
        // must not depend on it (the linear's row split must match one BLAS call).
        defer { Threads.set(1) }
        let n = 70_000
        let x = TestSupport.randn(n, seed: 20)
        var y1 = [Float](repeating: 0, count: n), y2 = y1
        Threads.set(1); GELU.forward(out: &y1, inp: x, count: n)
        Threads.set(2); GELU.forward(out: &y2, inp: x, count: n)
        XCTAssertEqual(y1, y2)

        let (rows, d) = (700, 100)
        let w = TestSupport.randn(d, seed: 21), b = TestSupport.randn(d, seed: 22)
        var m = [Float](repeating: 0, count: rows), s = m, l1 = [Float](repeating: 0, count: rows * d), l2 = l1
        Threads.set(1); LayerNorm.forward(out: &l1, mean: &m, rstd: &s, inp: x, weight: w, bias: b, rows: rows, dim: d)
        Threads.set(2); LayerNorm.forward(out: &l2, mean: &m, rstd: &s, inp: x, weight: w, bias: b, rows: rows, dim: d)
        XCTAssertEqual(l1, l2)

        /// One linear forward + backward (input gradient accumulating onto ones) with `mode`:
        /// [out, dinp, dweight, dbias].
        func linear(_ mode: GemmThreading, rows: Int, _ i: Int, _ o: Int, seed: UInt64) -> [[Float]] {
            let inp = Array(x.prefix(rows * i)), wt = TestSupport.randn(o * i, seed: seed)
            let bias = TestSupport.randn(o, seed: seed + 1), r = TestSupport.randn(rows * o, seed: seed + 2)
            var y = [Float](repeating: 0, count: rows * o), dx = [Float](repeating: 1, count: rows * i)
            var dw = [Float](repeating: 0, count: o * i), db = [Float](repeating: 0, count: o)
            BLAS.singleThreaded {
                Linear.forward(out: &y, inp: inp, weight: wt, bias: bias, rows: rows, inDim: i, outDim: o, threading: mode)
                Linear.backward(dinp: &dx, dweight: &dw, dbias: &db, dout: r, inp: inp, weight: wt, rows: rows, inDim: i, outDim: o,
                                accumulate: true, threading: mode)
            }
            return [y, dx, dw, db]
        }
        Threads.set(2)
        for (name, (a, c)) in zip(["out", "dinp", "dweight", "dbias"], zip(linear(.blas, rows: rows, 48, 40, seed: 23),
                                                                           linear(.rows, rows: rows, 48, 40, seed: 23))) {
            XCTAssertLessThan(TestSupport.relativeError(c, a), 1e-6, "linear \(name): rows vs blas")
        }
        // Few rows, wide layers: `.rows` splits output columns (forward) and input columns (input
        // gradient) in blocks of 16, the last block taking the remainder.
        Threads.set(1)
        let serial = linear(.blas, rows: 50, 72, 88, seed: 26)
        for t in [2, 3] {
            Threads.set(t)
            XCTAssertTrue(Linear.splitsColumns(rows: 50, cols: 88) && Linear.splitsColumns(rows: 50, cols: 72))
            for (name, (a, c)) in zip(["out", "dinp", "dweight", "dbias"], zip(serial, linear(.rows, rows: 50, 72, 88, seed: 26))) {
                XCTAssertLessThan(TestSupport.relativeError(c, a), 1e-6, "column-split linear \(name), \(t) threads")
            }
        }
    }

    /// The fused row-tile linear (`.rows` on a tall, narrow layer) against one BLAS call per GEMM
    /// with the hooks applied separately: forward with a GELU epilogue, backward with a GELU
    /// prologue rewriting dout in place; input gradient overwritten and accumulated; weight and
    /// bias gradients accumulate onto what is there. Every hook row is visited exactly once. The
    /// tiles run on the pack-free GEMM (`DirectGemm`, the default on vector paths) and on OpenBLAS,
    /// on the worker pool and on Dispatch.
    func testFusedRowTilesMatchSeparatePasses() {
        defer { Threads.set(1); DirectGemm.enabled = true; Threads.usesWorkerPool = true }
        // 5000 rows: 5 tiles of 960 and a remainder, so on the pack-free GEMM the backward splits
        // into 5 chunks of two tiles (each partial overwritten by its first tile, then added to).
        let (rows, i, o) = (5000, 48, 40)
        let x = TestSupport.randn(rows * i, seed: 40), w = TestSupport.randn(o * i, seed: 41, std: 0.2)
        let b = TestSupport.randn(o, seed: 42), g = TestSupport.randn(rows * o, seed: 43)
        let pre = TestSupport.randn(rows * o, seed: 44)             // pre-activations for GELU backward
        let dx0 = TestSupport.randn(rows * i, seed: 45), dw0 = TestSupport.randn(o * i, seed: 46), db0 = TestSupport.randn(o, seed: 47)
        for accumulate in [false, true] {
            // Reference: separate passes, one GEMM each.
            var y = [Float](repeating: 0, count: rows * o), act = y, dg = g
            var dx = dx0, dw = dw0, db = db0
            Linear.forward(out: &y, inp: x, weight: w, bias: b, rows: rows, inDim: i, outDim: o, threading: .blas)
            GELU.forward(out: &act, inp: y, count: rows * o)
            GELU.backward(dinp: &dg, inp: pre, dout: g, count: rows * o, accumulate: false)
            Linear.backward(dinp: &dx, dweight: &dw, dbias: &db, dout: dg, inp: x, weight: w, rows: rows, inDim: i, outDim: o,
                            accumulate: accumulate, threading: .blas)
            for (threads, direct, pool) in [(1, true, true), (2, true, true), (3, true, true), (2, false, true), (2, true, false)] {
                Threads.set(threads)
                DirectGemm.enabled = direct
                Threads.usesWorkerPool = pool
                XCTAssertTrue(Linear.fuses(rows: rows, inDim: i, outDim: o, threading: .rows))
                var fy = [Float](repeating: 0, count: rows * o), fact = fy, fg = g, fdx = dx0, fdw = dw0, fdb = db0
                var seenF = [Int](repeating: 0, count: rows), seenB = seenF
                fy.withUnsafeMutableBufferPointer { yb in
                    fact.withUnsafeMutableBufferPointer { ab in
                        seenF.withUnsafeMutableBufferPointer { sb in
                            let (yp, ap, sp) = (yb.baseAddress!, ab.baseAddress!, sb.baseAddress!)
                            BLAS.singleThreaded {
                                Linear.forward(out: yp, inp: x, weight: w, bias: b, rows: rows, inDim: i, outDim: o, threading: .rows) { r in
                                    for k in r { sp[k] += 1 }
                                    GELU.forwardSerial(out: ap + r.lowerBound * o, inp: yp + r.lowerBound * o, count: r.count * o)
                                }
                            }
                        }
                    }
                }
                fg.withUnsafeMutableBufferPointer { gb in
                    seenB.withUnsafeMutableBufferPointer { sb in
                        pre.withUnsafeBufferPointer { pb in
                            let (gp, sp, pp) = (gb.baseAddress!, sb.baseAddress!, pb.baseAddress!)
                            BLAS.singleThreaded {
                                Linear.backward(dinp: &fdx, dweight: &fdw, dbias: &fdb, dout: gp, inp: x, weight: w, rows: rows, inDim: i,
                                                outDim: o, accumulate: accumulate, threading: .rows) { r in
                                    for k in r { sp[k] += 1 }
                                    let off = r.lowerBound * o
                                    GELU.backwardSerial(dinp: gp + off, inp: pp + off, dout: gp + off, count: r.count * o, accumulate: false)
                                }
                            }
                        }
                    }
                }
                let tag = "\(threads) threads, accumulate \(accumulate), \(DirectGemm.isPreferred ? "direct" : "BLAS") tiles, pool \(pool)"
                XCTAssertEqual(seenF, [Int](repeating: 1, count: rows), tag)
                XCTAssertEqual(seenB, [Int](repeating: 1, count: rows), tag)
                for (name, (a, c)) in zip(["out", "gelu", "dinp", "dweight", "dbias"], zip([fy, fact, fdx, fdw, fdb], [y, act, dx, dw, db])) {
                    XCTAssertLessThan(TestSupport.relativeError(a, c), 2e-6, "\(name), \(tag)")
                }
            }
        }
    }
}
