import XCTest
import AVTensor
import TestSupport

/// The kernel dispatch: every instruction-set path this CPU runs gives the baseline path's
/// results within float tolerance (each path is forced in turn), and selecting a path the CPU
/// lacks is refused.
final class KernelPathTests: XCTestCase {
    override func tearDown() { Kernels.select(Kernels.available.last ?? .baseline) }

    /// Runs `body` on every available path; returns (path, result) pairs, baseline first.
    func onEveryPath(_ body: () -> [[Float]]) -> [(KernelPath, [[Float]])] {
        Kernels.available.compactMap { p in Kernels.with(p, body).map { (p, $0) } }
    }

    func assertAgree(_ name: String, _ runs: [(KernelPath, [[Float]])], tol: Double = 2e-6) {
        guard let (_, base) = runs.first else { return XCTFail("no kernel path ran") }
        for (path, got) in runs.dropFirst() {
            for (k, (a, b)) in zip(got, base).enumerated() {
                XCTAssertLessThan(TestSupport.relativeError(a, b), tol, "\(name)[\(k)] on \(path) vs baseline")
            }
        }
    }

    func testStartUpPicksTheBestPathAndRefusesMissingOnes() {
        XCTAssertTrue(Kernels.isAvailable(.baseline))
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        XCTAssertEqual(Kernels.isAvailable(.avx2), flags.contains(" avx2") && flags.contains(" fma"))
        XCTAssertEqual(Kernels.isAvailable(.avx512), flags.contains(" avx512f") && flags.contains(" avx512dq") && flags.contains(" avx512vl")
                       && flags.contains(" avx2"))
        XCTAssertEqual(Kernels.active, Kernels.available.last, "start-up uses the widest path (AVTRAIN_KERNELS unset)")
        for p in KernelPath.allCases where !Kernels.isAvailable(p) {
            let before = Kernels.active
            XCTAssertFalse(Kernels.select(p))
            XCTAssertEqual(Kernels.active, before)
        }
        print("kernel paths on this CPU: \(Kernels.available.map(\.description).joined(separator: ", "))")
    }

    func testEveryKernelAgreesAcrossPaths() {
        let n = 10_007, x = TestSupport.randn(n, seed: 1).map { $0 * 3 }, g = TestSupport.randn(n, seed: 2)
        assertAgree("gelu", onEveryPath {
            var y = [Float](repeating: 0, count: n), d = g, d2 = [Float](repeating: 0, count: n)
            GELU.forward(out: &y, inp: x, count: n)
            GELU.backward(dinp: &d, inp: x, dout: g, count: n, accumulate: true)
            GELU.backward(dinp: &d2, inp: x, dout: g, count: n, accumulate: false)
            return [y, d, d2]
        })
        // Softmax rows longer than the kernels' 256-float block, with one and two added terms.
        let (sr, sc) = (5, 300), sa = TestSupport.randn(sr * sc, seed: 5), sb = TestSupport.randn(sr * sc, seed: 6)
        assertAgree("exp / softmax", onEveryPath {
            var e = [Float](repeating: 0, count: n), s = x, s1 = Array(x.prefix(sr * sc)), s2 = s1
            FastMath.exp(x.map { $0 * 5 }, into: &e, n)
            Softmax.forward(out: &s, inp: x, rows: 1, cols: n)
            Softmax.forwardInPlace(&s1, adding: sa, nil, rows: sr, cols: sc)
            Softmax.forwardInPlace(&s2, adding: sa, sb, rows: sr, cols: sc)
            var d = Array(g.prefix(sr * sc)), dIn = d
            Softmax.backward(dinp: &d, out: s2, dout: sa, rows: sr, cols: sc, accumulate: true)
            dIn.withUnsafeMutableBufferPointer { Softmax.backward(dinp: $0.baseAddress!, out: s2, dout: $0.baseAddress!, rows: sr, cols: sc, accumulate: false) }
            return [e, s, s1, s2, d, dIn]
        })
        // A sum of 10⁴ products in another order: agreement relative to Σ|x·g|.
        let scale = zip(x, g).reduce(0) { $0 + abs($1.0 * $1.1) }
        assertAgree("dot", onEveryPath { [[1 + Reduce.dot(x, g, n) / scale]] }, tol: 1e-6)
        let (rows, dim) = (37, 96), w = TestSupport.randn(dim, seed: 3), b = TestSupport.randn(dim, seed: 4)
        assertAgree("layernorm", onEveryPath {
            var y = [Float](repeating: 0, count: rows * dim), m = [Float](repeating: 0, count: rows), r = m
            LayerNorm.forward(out: &y, mean: &m, rstd: &r, inp: x, weight: w, bias: b, rows: rows, dim: dim)
            var dx = Array(g.prefix(rows * dim)), dw = [Float](repeating: 0, count: dim), db = dw
            LayerNorm.backward(dinp: &dx, dweight: &dw, dbias: &db, dout: Array(g.suffix(rows * dim)), inp: x, weight: w, mean: m, rstd: r,
                               rows: rows, dim: dim, accumulate: true)
            return [y, m, r, dx, dw, db]
        }, tol: 1e-5)
    }
}
