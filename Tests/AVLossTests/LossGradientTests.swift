import XCTest
import AVLoss
import AVDist
import TestSupport

/// Finite-difference checks of every loss's gradient with respect to x, x_aug and the logit
/// scale, the clamp of the scale, and the errors for bad input.
final class LossGradientTests: XCTestCase {
    let single = InProcessCommunicator.single()

    func value(_ i: LossInputs, _ ls: Float, _ w: LossWeights) -> Double {
        Double(try! contrastiveObjective(local: i, logitScale: ls, weights: w, comm: single).total)
    }

    func testFiniteDifferences() throws {
        let (n, dim) = (6, 8)
        let base = LossTestData.inputs(n: n, dim: dim, seed: 11)
        let ls: Float = 1.5
        for (name, w) in LossTestData.cases {
            let r = try contrastiveObjective(local: base, logitScale: ls, weights: w, comm: single)
            let numX = TestSupport.numericGradient(base.x, eps: 1e-2) { x in
                var i = base; i.x = x; return value(i, ls, w)
            }
            let errX = TestSupport.relativeError(r.gradX, numX)
            XCTAssertLessThan(errX, 2e-3, "\(name) dx")
            XCTAssertGreaterThan(numX.map { abs($0) }.max()!, 1e-4, "\(name): dx trivially zero")
            let numXA = TestSupport.numericGradient(base.xAug, eps: 1e-2) { x in
                var i = base; i.xAug = x; return value(i, ls, w)
            }
            if w.audioAudio != 0 {
                XCTAssertLessThan(TestSupport.relativeError(r.gradXAug, numXA), 2e-3, "\(name) dx_aug")
                XCTAssertGreaterThan(numXA.map { abs($0) }.max()!, 1e-4, "\(name): dx_aug trivially zero")
            } else {
                XCTAssertTrue(r.gradXAug.allSatisfy { $0 == 0 } && numXA.allSatisfy { abs($0) < 1e-4 }, "\(name) dx_aug")
            }
            // The reference holds the momentum targets' scale s̄ fixed (it is detached).
            let sbar = Double(min(exp(ls), 100))
            let numS = TestSupport.numericGradient([ls], eps: 1e-2) {
                ReferenceLosses.total(w, base, logitScale: Double($0[0]), targetScale: sbar)
            }[0]
            XCTAssertEqual(r.gradLogitScale, numS, accuracy: 2e-3 * max(1, abs(numS)), "\(name) dlogit_scale")
            if name == "weak_kd" { XCTAssertEqual(r.gradLogitScale, 0) } else { XCTAssertNotEqual(r.gradLogitScale, 0) }
            // The value against the naive Double transcription of the definition.
            let ref = ReferenceLosses.total(w, base, logitScale: Double(ls))
            XCTAssertEqual(Double(r.total), ref, accuracy: 1e-5 * abs(ref), "\(name) value vs reference")
            // The total is the weighted sum of the reported terms.
            let sum = LossTerm.allCases.reduce(0.0) { $0 + Double(w[$1]) * Double(r.values[$1.rawValue] ?? 0) }
            XCTAssertEqual(Double(r.total), sum, accuracy: 1e-5 * abs(sum), name)
        }
    }

    /// Above exp(logit_scale) = 100 the scale is 100 and the logit scale gets no gradient.
    func testScaleClampedAt100() throws {
        let base = LossTestData.inputs(n: 5, dim: 8, seed: 21)
        let w = LossTestData.allTerms
        let clamped = try contrastiveObjective(local: base, logitScale: Float(log(300.0)), weights: w, comm: single)
        let at100 = try contrastiveObjective(local: base, logitScale: Float(log(99.99)), weights: w, comm: single)
        XCTAssertEqual(clamped.scale, 100)
        XCTAssertEqual(clamped.gradLogitScale, 0)
        XCTAssertNotEqual(at100.gradLogitScale, 0)
        XCTAssertEqual(clamped.total, at100.total, accuracy: 1e-3 * abs(at100.total))
        XCTAssertLessThan(TestSupport.relativeError(clamped.gradX, at100.gradX), 1e-3)
    }

    /// Scaling the head outputs or the teacher embeddings changes nothing (they are normalised inside).
    func testInputsAreNormalisedInside() throws {
        let base = LossTestData.inputs(n: 5, dim: 8, seed: 31)
        var scaled = base
        scaled.text = base.text.map { $0 * 3 }
        scaled.image = base.image.map { $0 * 0.2 }
        scaled.weakImage = base.weakImage.map { $0 * 5 }
        scaled.xMomentum = base.xMomentum.map { $0 * 7 }
        let a = try contrastiveObjective(local: base, logitScale: 2, weights: LossTestData.allTerms, comm: single)
        let b = try contrastiveObjective(local: scaled, logitScale: 2, weights: LossTestData.allTerms, comm: single)
        XCTAssertEqual(a.total, b.total, accuracy: 1e-5 * abs(a.total))
        XCTAssertLessThan(TestSupport.relativeError(b.gradX, a.gradX), 1e-5)
    }

    func testBadInputNamesTheArrayAndRow() {
        let base = LossTestData.inputs(n: 4, dim: 8, seed: 41)
        func message(_ i: LossInputs, _ w: LossWeights = LossTestData.allTerms, ls: Float = 2) -> String {
            do { _ = try contrastiveObjective(local: i, logitScale: ls, weights: w, comm: single); return "no error" }
            catch { return "\(error)" }
        }
        var nan = base; nan.text[8 + 3] = .nan
        XCTAssertTrue(message(nan).contains("text row 1"), message(nan))
        var zero = base; for j in 0..<8 { zero.x[16 + j] = 0 }
        XCTAssertTrue(message(zero).contains("x row 2 has norm 0"), message(zero))
        var short = base; short.weakImage = Array(base.weakImage.prefix(16))
        XCTAssertTrue(message(short).contains("weakImage has 16 values"), message(short))
        var noAug = base; noAug.xAug = []
        XCTAssertTrue(message(noAug).contains("xAug"), message(noAug))
        XCTAssertEqual(message(noAug, LossWeights(audioText: 1, audioImage: 1, weakKD: 1, momentumKD: 1)), "no error",
                       "xAug may be empty when audio_audio is off")
        XCTAssertTrue(message(base, LossWeights()).contains("every loss weight is zero"))
        XCTAssertTrue(message(base, ls: .infinity).contains("logit_scale"))
        XCTAssertTrue(message(base, LossWeights(weakKD: 1, tauKD: 0)).contains("tau_kd"))
    }
}
