import XCTest
import AVLoss
import AVDist
import TestSupport

/// The five losses against PyTorch (fixtures/losses.safetensors, make_fixtures.py:losses_fixture):
/// values to rtol 1e-5, gradients w.r.t. x, x_aug and logit_scale to relative error 1e-4.
final class LossFixtureTests: XCTestCase {
    func testAllLossesMatchFixture() throws {
        let f = try TestSupport.fixture("losses.safetensors")
        let dim = Int(f.metadata["D"] ?? "") ?? 0, n = Int(f.metadata["N"] ?? "") ?? 0
        let tau = Float(f.metadata["tau_kd"] ?? "") ?? 0
        XCTAssertEqual(dim, 16); XCTAssertEqual(n, 8); XCTAssertEqual(tau, 0.1)
        let inputs = LossInputs(dim: dim, x: try f.floats("x"), xAug: try f.floats("x_aug"),
                                xMomentum: try f.floats("x_momentum"), text: try f.floats("text"),
                                image: try f.floats("image"), weakImage: try f.floats("weak_image"))
        let logitScale = try f.floats("logit_scale")[0]
        XCTAssertEqual(logitScale, Float(log(1 / 0.07)), accuracy: 1e-6)
        for term in LossTerm.allCases {
            let name = term.rawValue
            let r = try contrastiveObjective(local: inputs, logitScale: logitScale,
                                             weights: .only(term, tauKD: tau), comm: InProcessCommunicator.single())
            let want = try f.floats("\(name).value")[0]
            let got = try XCTUnwrap(r.values[name])
            XCTAssertEqual(Double(got), Double(want), accuracy: 1e-5 * Double(abs(want)), "\(name) value")
            XCTAssertEqual(r.total, got, "\(name) total with weight 1")
            let gx = try f.floats("\(name).grad.x"), gxa = try f.floats("\(name).grad.x_aug")
            XCTAssertLessThan(TestSupport.relativeError(r.gradX, gx), 1e-4, "\(name) grad x")
            if gxa.allSatisfy({ $0 == 0 }) {
                XCTAssertTrue(r.gradXAug.allSatisfy { $0 == 0 }, "\(name) grad x_aug should be zero")
            } else {
                XCTAssertLessThan(TestSupport.relativeError(r.gradXAug, gxa), 1e-4, "\(name) grad x_aug")
            }
            let gs = try f.floats("\(name).grad.logit_scale")[0]
            if gs == 0 {
                XCTAssertEqual(r.gradLogitScale, 0, "\(name) grad logit_scale")
            } else {
                XCTAssertLessThan(abs(r.gradLogitScale - gs) / abs(gs), 1e-4, "\(name) grad logit_scale \(r.gradLogitScale) vs \(gs)")
            }
            print("\(name): value \(got) (torch \(want)), grad x err \(TestSupport.relativeError(r.gradX, gx)), dlogit_scale \(r.gradLogitScale) (torch \(gs))")
        }
    }
}
