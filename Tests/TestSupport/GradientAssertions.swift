import XCTest

/// Assertions shared by the finite-difference gradient tests.
public enum GradientCheck {
    /// Fails unless the analytic gradient is within `tol` relative error of the numeric one, and
    /// the numeric gradient is not trivially zero (which would make the comparison vacuous).
    public static func assertMatches(_ name: String, analytic: [Float], numeric: [Float], tol: Double,
                                     file: StaticString = #filePath, line: UInt = #line) {
        let err = TestSupport.relativeError(analytic, numeric)
        XCTAssertLessThan(err, tol, "\(name): relative error \(err)", file: file, line: line)
        XCTAssertGreaterThan(numeric.map { abs($0) }.max() ?? 0, 1e-4, "\(name): gradient is trivially zero",
                             file: file, line: line)
    }

    /// Σ a·b in Double (the scalar L = Σ out ⊙ r of a gradient check).
    public static func dot(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    /// Checks a backward kernel's input-gradient convention and returns the gradient g:
    /// `run(&dinp, accumulate)` must leave exactly g when overwriting (whatever the buffer held)
    /// and `p + g` when accumulating onto values p. `run` is called twice, so it must reset any
    /// parameter-gradient buffers it fills.
    public static func inputGradient(count: Int, file: StaticString = #filePath, line: UInt = #line,
                                     _ run: (inout [Float], Bool) -> Void) -> [Float] {
        let prefill = TestSupport.randn(count, seed: 977)
        var over = prefill.map { 1000 * $0 + 3 }
        run(&over, false)
        var acc = prefill
        run(&acc, true)
        let added = zip(acc, prefill).map { $0 - $1 }
        let err = TestSupport.relativeError(added, over)
        XCTAssertLessThan(err, 1e-5, "accumulate: true must add the gradient to what the buffer holds (relative error \(err))",
                          file: file, line: line)
        return over
    }
}
