import XCTest
import AVTensor
import TestSupport

/// The pack-free GEMM (`DirectGemm`, CKernels/gemm.c) on every kernel path this CPU runs: every
/// element of C against a double-precision sum, over shapes that hit full tiles, row and column
/// edges, several B panels and reduction chunks, k = 0, bias, accumulation and leading dimensions
/// (the padding around C must stay untouched).
final class DirectGemmTests: XCTestCase {
    override func tearDown() { Kernels.select(Kernels.available.last ?? .baseline) }

    /// C as the kernel under test leaves it, next to the reference and each element's Σ|a·b|.
    struct Case {
        let m, n, k, lda, ldb, ldc: Int
        let transA: Bool, bias: Bool, accumulate: Bool

        func check(file: StaticString = #filePath, line: UInt = #line) {
            let a = TestSupport.randn(transA ? k * lda : m * lda, seed: 1), b = TestSupport.randn(max(1, k * ldb), seed: 2)
            let bv = TestSupport.randn(n, seed: 3), c0 = TestSupport.randn(m * ldc, seed: 4)
            func A(_ i: Int, _ p: Int) -> Double { Double(transA ? a[p * lda + i] : a[i * lda + p]) }
            for path in Kernels.available {
                var c = c0
                let ran = Kernels.with(path) {
                    a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in bv.withUnsafeBufferPointer { biasp in
                        c.withUnsafeMutableBufferPointer { cp in
                            if transA {
                                DirectGemm.tn(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                                              c: cp.baseAddress!, ldc: ldc, accumulate: accumulate)
                            } else {
                                DirectGemm.nn(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                                              c: cp.baseAddress!, ldc: ldc, bias: bias ? biasp.baseAddress! : nil,
                                              accumulate: accumulate)
                            }
                        }
                    } } }
                }
                XCTAssertNotNil(ran, "path \(path)", file: file, line: line)
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<ldc {
                        let got = Double(c[i * ldc + j])
                        if j >= n { XCTAssertEqual(got, Double(c0[i * ldc + j]), "padding C[\(i), \(j)] on \(path)", file: file, line: line); continue }
                        var s = (accumulate ? Double(c0[i * ldc + j]) : 0) + (bias ? Double(bv[j]) : 0), mag = abs(s)
                        for p in 0..<k { let t = A(i, p) * Double(b[p * ldb + j]); s += t; mag += abs(t) }
                        worst = max(worst, abs(got - s) / (mag + 1e-30))
                    }
                }
                XCTAssertLessThan(worst, 2e-6, "\(self) on \(path)", file: file, line: line)
            }
        }
    }

    func testProductsMatchADoublePrecisionSumOnEveryPath() {
        for (m, n, k) in [(12, 32, 96), (24, 96, 96), (25, 70, 33), (5, 7, 3), (1, 1, 1), (13, 300, 300), (30, 40, 2000)] {
            for (bias, acc) in [(false, false), (true, false), (true, true), (false, true)] {
                Case(m: m, n: n, k: k, lda: k, ldb: n, ldc: n, transA: false, bias: bias, accumulate: acc).check()
            }
        }
        Case(m: 19, n: 45, k: 50, lda: 61, ldb: 52, ldc: 47, transA: false, bias: true, accumulate: true).check()
    }

    func testTransposedProductsSumEveryReductionChunk() {
        for (m, n, k) in [(12, 32, 128), (24, 64, 300), (7, 19, 129), (96, 96, 513), (1, 40, 5)] {
            for acc in [false, true] {
                Case(m: m, n: n, k: k, lda: m, ldb: n, ldc: n, transA: true, bias: false, accumulate: acc).check()
            }
        }
        Case(m: 13, n: 45, k: 200, lda: 17, ldb: 50, ldc: 49, transA: true, bias: false, accumulate: true).check()
    }

    func testEmptyReductionLeavesInitialValues() {
        for acc in [false, true] {
            Case(m: 14, n: 40, k: 0, lda: 1, ldb: 40, ldc: 41, transA: false, bias: true, accumulate: acc).check()
            Case(m: 14, n: 40, k: 0, lda: 14, ldb: 40, ldc: 41, transA: true, bias: false, accumulate: acc).check()
        }
    }

    /// The weight transpose `Linear` feeds `nn` with: every element moved, on 1–3 threads, for
    /// shapes below, at and across the 16×16 blocks and the thread split.
    func testTransposeMovesEveryElement() {
        defer { Threads.set(1) }
        for (rows, cols) in [(1, 1), (5, 3), (16, 16), (17, 33), (40, 100), (1536, 24)] {
            let src = TestSupport.randn(rows * cols, seed: 9)
            for threads in [1, 2, 3] {
                Threads.set(threads)
                var dst = [Float](repeating: .nan, count: rows * cols)
                dst.withUnsafeMutableBufferPointer { DirectGemm.transpose(src, rows: rows, cols: cols, into: $0.baseAddress!) }
                var wrong = 0
                for r in 0..<rows { for c in 0..<cols where dst[c * rows + r] != src[r * cols + c] { wrong += 1 } }
                XCTAssertEqual(wrong, 0, "\(rows)×\(cols) on \(threads) threads")
            }
        }
    }
}
