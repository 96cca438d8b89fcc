import XCTest
import AVTensor
import AVTrain
import TestSupport

final class AdamWTests: XCTestCase {
    /// Three torch.optim.AdamW steps from ../shared/fixtures/adamw.safetensors, rtol 1e-6.
    func testMatchesTorchFixture() throws {
        let f = try TestSupport.fixture("adamw.safetensors")
        func hp(_ k: String) -> Double { Double(f.metadata[k]!.trimmingCharacters(in: .whitespaces))! }
        let betas = f.metadata["betas"]!.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).split(separator: ",")
            .map { Float($0.trimmingCharacters(in: .whitespaces))! }
        var p = try f.floats("param.0")
        let opt = AdamW(count: p.count, lr: Float(hp("lr")), beta1: betas[0], beta2: betas[1],
                        eps: Float(hp("eps")), weightDecay: Float(hp("weight_decay")))
        for k in 1...3 {
            let g = try f.floats("grad.\(k)")
            opt.update(params: &p, grads: g, ranges: [(0..<p.count, true)])
            let ref = try f.floats("param.\(k)")
            for i in 0..<p.count {
                XCTAssertEqual(p[i], ref[i], accuracy: 1e-6 * max(abs(ref[i]), 1e-3), "step \(k) element \(i)")
            }
        }
        XCTAssertEqual(opt.step, 3)
    }

    func testNoDecayRangeIsNotShrunk() {
        var p: [Float] = [1, 1]
        let opt = AdamW(count: 2, lr: 0.1, weightDecay: 0.5)
        opt.update(params: &p, grads: [0, 0], ranges: [(0..<1, true), (1..<2, false)])
        XCTAssertEqual(p[0], 0.95, accuracy: 1e-7)
        XCTAssertEqual(p[1], 1)
    }
}
