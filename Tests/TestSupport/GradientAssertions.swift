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
}
