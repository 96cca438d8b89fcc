import XCTest
import AVTensor
import TestSupport

/// sgemm wrappers against a naive triple loop, every transpose combination.
final class GemmTests: XCTestCase {
    func naive(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: [Float], _ b: [Float]) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s: Double = 0
            for p in 0..<k {
                let av = ta ? a[p * m + i] : a[i * k + p]
                let bv = tb ? b[j * k + p] : b[p * n + j]
                s += Double(av) * Double(bv)
            }
            c[i * n + j] = Float(s)
        } }
        return c
    }

    func testAllTransposes() {
        let (m, n, k) = (7, 5, 9)
        let a = TestSupport.randn(m * k, seed: 1), b = TestSupport.randn(k * n, seed: 2)
        for ta in [false, true] { for tb in [false, true] {
            var c = [Float](repeating: 0, count: m * n)
            BLAS.gemm(transA: ta, transB: tb, m: m, n: n, k: k, a: a, b: b, c: &c)
            XCTAssertLessThan(TestSupport.relativeError(c, naive(ta, tb, m, n, k, a, b)), 1e-6, "ta=\(ta) tb=\(tb)")
        } }
    }

    func testAlphaBetaAccumulate() {
        let a = TestSupport.randn(12, seed: 3), b = TestSupport.randn(12, seed: 4)
        var c = [Float](repeating: 1, count: 9)
        BLAS.gemm(m: 3, n: 3, k: 4, alpha: 2, a: a, b: b, beta: 0.5, c: &c)
        let ref = naive(false, false, 3, 3, 4, a, b).map { 2 * $0 + 0.5 }
        XCTAssertLessThan(TestSupport.relativeError(c, ref), 1e-6)
    }

    func testLeadingDimensionsSelectSubmatrices() {
        // C's columns 2..<5 of a 4×7 buffer = A (columns 1..<6 of a 4×8 buffer) · B (rows of a 5×3 buffer).
        let (m, n, k) = (4, 3, 5)
        let abuf = TestSupport.randn(4 * 8, seed: 5), b = TestSupport.randn(k * n, seed: 6)
        var cbuf = [Float](repeating: 7, count: 4 * 7)
        abuf.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in cbuf.withUnsafeMutableBufferPointer { cp in
            BLAS.gemm(m: m, n: n, k: k, a: ap.baseAddress! + 1, lda: 8, b: bp.baseAddress!, ldb: n, c: cp.baseAddress! + 2, ldc: 7)
        } } }
        let a = (0..<m).flatMap { r in abuf[(r * 8 + 1)..<(r * 8 + 6)] }
        let ref = naive(false, false, m, n, k, a, b)
        let got = (0..<m).flatMap { r in cbuf[(r * 7 + 2)..<(r * 7 + 5)] }
        XCTAssertLessThan(TestSupport.relativeError(got, ref), 1e-6)
        for r in 0..<m { for c in [0, 1, 5, 6] { XCTAssertEqual(cbuf[r * 7 + c], 7, "outside C's columns") } }
    }

    func testCoreNameIsReported() {
        XCTAssertFalse(BLAS.coreName.isEmpty)
        XCTAssertEqual(BLASKernels.bestCoreType(flags: ["avx2", "fma", "avx512f"]), "SkylakeX")
        XCTAssertEqual(BLASKernels.bestCoreType(flags: ["avx2", "fma"]), "Haswell")
        XCTAssertNil(BLASKernels.bestCoreType(flags: ["sse2"]))
    }
}
