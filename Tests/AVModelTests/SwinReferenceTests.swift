import XCTest
import AVTensor
import AVSafetensors
import AVModel
import TestSupport

/// The encoder against timm 1.0 (fixtures/swin_tiny.safetensors): forward output, NHWC
/// activations, and every parameter and input gradient of `sum(output * loss_weights)`.
final class SwinReferenceTests: XCTestCase {
    static let fixtureTensors: (String) -> Bool = { n in
        n.hasPrefix("grad.") || n.hasPrefix("act.") || ["input", "output", "loss_weights"].contains(n)
    }

    func testMatchesTimm() throws {
        let f = try TestSupport.fixture("swin_tiny.safetensors")
        var cfg = try SwinConfig.fromTimmMetadata(f.metadata)
        cfg.dropPathRate = 0
        XCTAssertEqual(cfg.depths, [2, 2, 2])
        let input = try f.floats("input"), inShape = try f.entry("input").shape
        let batch = inShape[0]
        XCTAssertEqual(Array(inShape[1...]), [cfg.inChannels] + cfg.imageSize)
        let model = try SwinEncoder(config: cfg, batch: batch)
        try model.loadTimm(f, skipping: Self.fixtureTensors)
        // Every parameter of the file maps to one of ours and vice versa (loadTimm checks both ways);
        // every gradient in the file names a parameter.
        let gradNames = f.names.filter { $0.hasPrefix("grad.") && $0 != "grad.input" }
        XCTAssertEqual(Set(gradNames.map { String($0.dropFirst(5)) }), Set(model.params.views.map(\.name)))

        var rng = Rng(seed: 1)
        let out = model.forward(input: input, training: true, rng: &rng)
        let e = cfg.embeddingSize
        let ours = Array(UnsafeBufferPointer(start: out, count: batch * e))
        let errOut = TestSupport.relativeError(ours, try f.floats("output"))
        XCTAssertLessThan(errOut, 1e-4, "output")

        // Activations (NHWC) localise mismatches.
        var acts: [(String, UnsafePointer<Float>)] = [("act.patch_embed", model.stageOutput(-1)), ("act.norm", model.finalNormOutput)]
        for i in 0..<cfg.depths.count { acts.append(("act.layers.\(i)", model.stageOutput(i))) }
        for (name, p) in acts {
            let ref = try f.floats(name)
            let err = TestSupport.relativeError(Array(UnsafeBufferPointer(start: p, count: ref.count)), ref)
            XCTAssertLessThan(err, 1e-4, name)
        }

        model.params.zeroGrads()
        let lw = try f.floats("loss_weights")
        var dinput = [Float](repeating: 0, count: input.count)
        model.backward(dout: lw, dinput: &dinput)
        XCTAssertLessThan(TestSupport.relativeError(dinput, try f.floats("grad.input")), 1e-4, "grad.input")
        var worst = (0.0, "")
        for v in model.params.views {
            let ref = try f.floats("grad." + v.name)
            let err = TestSupport.relativeError(Array(UnsafeBufferPointer(start: model.params.grad(v), count: v.count)), ref)
            XCTAssertLessThan(err, 1e-4, "grad.\(v.name)")
            if err > worst.0 { worst = (err, v.name) }
        }
        print("swin reference: output rel err \(errOut); worst gradient \(worst.1) \(worst.0)")
    }
}
