import XCTest
import AVTensor
import AVModel
import TestSupport

/// Finite-difference checks of the Swin kernels (L = Σ out ⊙ r, so backward runs with dout = r),
/// and checks of the index maps against direct roll + partition loops.
final class SwinKernelGradientTests: XCTestCase {
    func check(_ name: String, analytic: [Float], numeric: [Float], tol: Double = 3e-3,
               file: StaticString = #filePath, line: UInt = #line) {
        GradientCheck.assertMatches(name, analytic: analytic, numeric: numeric, tol: tol, file: file, line: line)
    }

    func dotD(_ a: [Float], _ b: [Float]) -> Double { GradientCheck.dot(a, b) }

    func testWindowAttentionWithBiasAndMask() throws {
        // 4×8 tokens, window 4, shift 2: the height is not larger than the window, so only the
        // width shifts (timm per-axis rule) and the mask has both 0 and −100 entries.
        let geo = try WindowGeometry(height: 4, width: 8, window: 4, shift: 2)
        XCTAssertEqual([geo.windowH, geo.windowW, geo.shiftH, geo.shiftW], [4, 4, 0, 2])
        XCTAssertTrue(geo.mask.contains(-100) && geo.mask.contains(0))
        try checkAttention(geo, heads: 2, headDim: 3, fdIndices: nil)
        // Swin-T's window 8 (N = 64, shifted both ways) on a subset of coordinates.
        let big = try WindowGeometry(height: 16, width: 16, window: 8, shift: 4)
        XCTAssertEqual([big.windowArea, big.shiftH, big.shiftW, big.tableRows], [64, 4, 4, 225])
        try checkAttention(big, heads: 2, headDim: 4, fdIndices: Array(stride(from: 3, to: 2 * 4 * 64 * 24, by: 97)))
    }

    func checkAttention(_ geo: WindowGeometry, heads: Int, headDim hd: Int, fdIndices: [Int]?) throws {
        let batch = 2, c = heads * hd, n = geo.windowArea
        let shape = WindowAttentionShape(windows: batch * geo.windowsPerSample, windowsPerSample: geo.windowsPerSample,
                                         tokens: n, heads: heads, headDim: hd)
        let rows = shape.windows * n
        let qkv = TestSupport.randn(rows * 3 * c, seed: 11), table = TestSupport.randn(geo.tableRows * heads, seed: 12, std: 0.5)
        let r = TestSupport.randn(rows * c, seed: 13)
        func f(_ qkv: [Float], _ table: [Float]) -> Double {
            var out = [Float](repeating: 0, count: rows * c), probs = [Float](repeating: 0, count: shape.windows * heads * n * n)
            var bias = [Float](repeating: 0, count: heads * n * n)
            WindowAttention.expandBias(bias: &bias, table: table, index: geo.relativeIndex, heads: heads, tokens: n)
            WindowAttention.forward(out: &out, probs: &probs, qkv: qkv, bias: bias, mask: geo.mask, shape: shape)
            return dotD(out, r)
        }
        var out = [Float](repeating: 0, count: rows * c), probs = [Float](repeating: 0, count: shape.windows * heads * n * n)
        var bias = [Float](repeating: 0, count: heads * n * n)
        WindowAttention.expandBias(bias: &bias, table: table, index: geo.relativeIndex, heads: heads, tokens: n)
        WindowAttention.forward(out: &out, probs: &probs, qkv: qkv, bias: bias, mask: geo.mask, shape: shape)
        var dtable = [Float](repeating: 0, count: table.count)
        let dqkv = GradientCheck.inputGradient(count: qkv.count) { dqkv, acc in
            dtable = [Float](repeating: 0, count: table.count)
            WindowAttention.backward(dqkv: &dqkv, dtable: &dtable, dout: r, probs: probs, qkv: qkv,
                                     index: geo.relativeIndex, shape: shape, accumulate: acc)
        }
        if let idx = fdIndices {
            let num = TestSupport.numericGradient(qkv, indices: idx) { f($0, table) }
            check("attention dqkv", analytic: idx.map { dqkv[$0] }, numeric: idx.map { num[$0] })
            let tidx = Array(stride(from: 0, to: table.count, by: 7))
            let tnum = TestSupport.numericGradient(table, indices: tidx) { f(qkv, $0) }
            check("attention dtable", analytic: tidx.map { dtable[$0] }, numeric: tidx.map { tnum[$0] })
        } else {
            check("attention dqkv", analytic: dqkv, numeric: TestSupport.numericGradient(qkv) { f($0, table) })
            check("attention dtable", analytic: dtable, numeric: TestSupport.numericGradient(table) { f(qkv, $0) })
        }

        // Forward against a direct per-window computation for one window and head.
        let w = shape.windows - 1, h = 1, scale = 1 / Float(hd).squareRoot()
        for i in 0..<n {
            var s = [Float](repeating: 0, count: n)
            for j in 0..<n {
                var dot: Float = 0
                for d in 0..<hd { dot += qkv[(w * n + i) * 3 * c + h * hd + d] * qkv[(w * n + j) * 3 * c + c + h * hd + d] }
                s[j] = dot * scale + table[Int(geo.relativeIndex[i * n + j]) * heads + h]
                    + geo.mask[((w % geo.windowsPerSample) * n + i) * n + j]
            }
            let m = s.max()!, e = s.map { expf($0 - m) }, z = e.reduce(0, +)
            for d in 0..<hd {
                var o: Float = 0
                for j in 0..<n { o += e[j] / z * qkv[(w * n + j) * 3 * c + 2 * c + h * hd + d] }
                XCTAssertEqual(out[(w * n + i) * c + h * hd + d], o, accuracy: 1e-5)
            }
        }
    }

    func testPatchEmbed() {
        let (b, ch, hgt, wid, p) = (2, 2, 8, 12, 4)
        let x = TestSupport.randn(b * ch * hgt * wid, seed: 21)
        let k = ch * p * p, rows = b * (hgt / p) * (wid / p)
        let r = TestSupport.randn(rows * k, seed: 22)
        func f(_ x: [Float]) -> Double {
            var o = [Float](repeating: 0, count: rows * k)
            PatchEmbed.forward(out: &o, inp: x, batch: b, channels: ch, height: hgt, width: wid, patch: p)
            return dotD(o, r)
        }
        let dx = GradientCheck.inputGradient(count: x.count) {
            PatchEmbed.backward(dinp: &$0, dout: r, batch: b, channels: ch, height: hgt, width: wid, patch: p, accumulate: $1)
        }
        check("patch embed dx", analytic: dx, numeric: TestSupport.numericGradient(x, eps: 0.1, f))
        // Patch row (b=1, i=1, j=2) element (c=1, ky=3, kx=0) is image (1, 1, 7, 8).
        var o = [Float](repeating: 0, count: rows * k)
        PatchEmbed.forward(out: &o, inp: x, batch: b, channels: ch, height: hgt, width: wid, patch: p)
        XCTAssertEqual(o[((1 * 2 + 1) * 3 + 2) * k + (1 * p + 3) * p + 0], x[((1 * ch + 1) * hgt + 7) * wid + 8])
    }

    func testPatchMerging() {
        let (b, hgt, wid, c) = (2, 4, 6, 3)
        let x = TestSupport.randn(b * hgt * wid * c, seed: 31)
        let rows = b * (hgt / 2) * (wid / 2)
        let r = TestSupport.randn(rows * 4 * c, seed: 32)
        func f(_ x: [Float]) -> Double {
            var o = [Float](repeating: 0, count: rows * 4 * c)
            PatchMerging.forward(out: &o, inp: x, batch: b, height: hgt, width: wid, channels: c)
            return dotD(o, r)
        }
        let dx = GradientCheck.inputGradient(count: x.count) {
            PatchMerging.backward(dinp: &$0, dout: r, batch: b, height: hgt, width: wid, channels: c, accumulate: $1)
        }
        check("patch merging dx", analytic: dx, numeric: TestSupport.numericGradient(x, eps: 0.1, f))
        // timm order x0 = (2i, 2j), x1 = (2i+1, 2j), x2 = (2i, 2j+1), x3 = (2i+1, 2j+1).
        var o = [Float](repeating: 0, count: rows * 4 * c)
        PatchMerging.forward(out: &o, inp: x, batch: b, height: hgt, width: wid, channels: c)
        let (bb, i, j) = (1, 1, 2), row = (bb * 2 + i) * 3 + j
        for q in 0..<4 {
            let (di, dj) = [(0, 0), (1, 0), (0, 1), (1, 1)][q]
            for ch in 0..<c {
                XCTAssertEqual(o[row * 4 * c + q * c + ch], x[((bb * hgt + 2 * i + di) * wid + 2 * j + dj) * c + ch])
            }
        }
    }

    func testWindowPartitionRoundTripAndResidual() throws {
        let geo = try WindowGeometry(height: 8, width: 12, window: 4, shift: 2)
        let (b, c, t) = (2, 3, geo.tokens)
        let x = TestSupport.randn(b * t * c, seed: 41)
        var win = [Float](repeating: 0, count: x.count)
        WindowPartition.forward(out: &win, inp: x, map: geo.tokenOfRow, batch: b, tokens: t, channels: c)
        // Direct torch.roll(-shift) + window_partition.
        let nWw = geo.width / geo.windowW
        for bb in 0..<b {
            for wi in 0..<(geo.height / geo.windowH) {
                for wj in 0..<nWw {
                    for a in 0..<geo.windowH {
                        for d in 0..<geo.windowW {
                            let row = ((wi * nWw + wj) * geo.windowH + a) * geo.windowW + d
                            let si = (wi * geo.windowH + a + geo.shiftH) % geo.height
                            let sj = (wj * geo.windowW + d + geo.shiftW) % geo.width
                            for ch in 0..<c {
                                XCTAssertEqual(win[(bb * t + row) * c + ch], x[((bb * geo.height + si) * geo.width + sj) * c + ch])
                            }
                        }
                    }
                }
            }
        }
        // Reverse (window_reverse + roll back) restores the input.
        let back = GradientCheck.inputGradient(count: x.count) {
            WindowPartition.backward(dinp: &$0, dout: win, map: geo.tokenOfRow, batch: b, tokens: t, channels: c, accumulate: $1)
        }
        XCTAssertEqual(back, x)
        // Residual with drop-path scales: gradients for x and the branch.
        let branch = TestSupport.randn(x.count, seed: 42), r = TestSupport.randn(x.count, seed: 43), scale: [Float] = [0, 1.25]
        func f(_ x: [Float], _ y: [Float]) -> Double {
            var o = [Float](repeating: 0, count: x.count)
            WindowPartition.residual(out: &o, x: x, branch: y, scale: scale, map: geo.tokenOfRow, batch: b, tokens: t, channels: c)
            return dotD(o, r)
        }
        let dy = GradientCheck.inputGradient(count: x.count) {
            WindowPartition.residualBackward(dbranch: &$0, dout: r, scale: scale, map: geo.tokenOfRow, batch: b, tokens: t, channels: c,
                                             accumulate: $1)
        }
        check("residual dbranch", analytic: dy, numeric: TestSupport.numericGradient(branch, eps: 0.1) { f(x, $0) })
        check("residual dx", analytic: r, numeric: TestSupport.numericGradient(x, eps: 0.1) { f($0, branch) })
    }

    func testDropPath() {
        let (b, per) = (3, 5000)
        let x = TestSupport.randn(b * per, seed: 51), y = TestSupport.randn(b * per, seed: 52), r = TestSupport.randn(b * per, seed: 53)
        let scale: [Float] = [2, 0, 1]
        func f(_ y: [Float]) -> Double {
            var o = [Float](repeating: 0, count: x.count)
            DropPath.residual(out: &o, x: x, branch: y, scale: scale, batch: b, perSample: per)
            return dotD(o, r)
        }
        let dy = GradientCheck.inputGradient(count: y.count) {
            DropPath.branchBackward(dbranch: &$0, dout: r, scale: scale, batch: b, perSample: per, accumulate: $1)
        }
        let idx = [0, 4999, 5000, 9999, 10000, 14999, 7777]
        let num = TestSupport.numericGradient(y, eps: 0.1, indices: idx) { f($0) }
        check("drop path dbranch", analytic: idx.map { dy[$0] }, numeric: idx.map { num[$0] })
        // Keep rate and scale.
        var rng = Rng(seed: 5)
        var s = [Float](repeating: 0, count: 20000)
        DropPath.draw(scale: &s, batch: s.count, prob: 0.25, rng: &rng)
        let kept = s.filter { $0 != 0 }
        XCTAssertEqual(Double(kept.count) / Double(s.count), 0.75, accuracy: 0.015)
        XCTAssertTrue(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 })
    }

    func testGeometry() throws {
        // Window shrinks per axis to the resolution, shift 0 there (timm 1.0).
        let g = try WindowGeometry(height: 2, width: 16, window: 8, shift: 4)
        XCTAssertEqual([g.windowH, g.windowW, g.shiftH, g.shiftW, g.tableRows], [2, 8, 0, 4, 3 * 15])
        let g0 = try WindowGeometry(height: 8, width: 8, window: 8, shift: 4)
        XCTAssertFalse(g0.shifted)
        XCTAssertTrue(g0.mask.isEmpty)
        // timm's relative_position_index for a 2×2 window.
        let r = try WindowGeometry(height: 2, width: 2, window: 2, shift: 0)
        XCTAssertEqual(r.relativeIndex, [4, 3, 1, 0, 5, 4, 2, 1, 7, 6, 4, 3, 8, 7, 5, 4])
        // 12×10 with window 8 and shift 4: padded to 16×16 after the shift (timm 1.0); padding rows are −1.
        let p = try WindowGeometry(height: 12, width: 10, window: 8, shift: 4)
        XCTAssertEqual([p.paddedH, p.paddedW, p.windowsPerSample, p.windowRows, p.tokens], [16, 16, 4, 256, 120])
        XCTAssertEqual(p.tokenOfRow.filter { $0 < 0 }.count, 256 - 120)
        XCTAssertEqual(Set(p.tokenOfRow.filter { $0 >= 0 }), Set((0..<120).map { Int32($0) }))
        XCTAssertEqual(p.mask.count, 4 * 64 * 64)
        XCTAssertThrowsError(try WindowGeometry(height: 8, width: 8, window: 4, shift: 4))
    }
}
