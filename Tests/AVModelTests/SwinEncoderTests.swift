import XCTest
import AVTensor
import AVSafetensors
import AVModel
import TestSupport

/// Whole-encoder checks: finite differences through every layer (with drop path active),
/// reuse of the planned buffers, smaller evaluation batches, names, and weight-loading errors.
final class SwinEncoderTests: XCTestCase {
    /// A 3-stage model on a non-square input with a shifted last stage whose height shrinks the window.
    func smallConfig(dropPath: Float) -> SwinConfig {
        SwinConfig(imageSize: [32, 64], patchSize: 4, embedDim: 8, depths: [2, 1, 2], numHeads: [2, 2, 4], windowSize: 4,
                   embeddingSize: 5, dropPathRate: dropPath)
    }

    func testFiniteDifferencesThroughEncoder() throws {
        try checkEncoderGradients(smallConfig(dropPath: 0.4))
    }

    /// Stage resolutions that are not multiples of the window: zero padding after the shift
    /// (10×12 → 12×12 at window 4; 5×6 → 8×8 with shift 2 on both axes).
    func testFiniteDifferencesWithWindowPadding() throws {
        try checkEncoderGradients(SwinConfig(imageSize: [40, 48], patchSize: 4, embedDim: 8, depths: [2, 2], numHeads: [2, 4],
                                             windowSize: 4, embeddingSize: 5, dropPathRate: 0.3))
    }

    func checkEncoderGradients(_ cfg: SwinConfig, file: StaticString = #filePath, line: UInt = #line) throws {
        let batch = 3
        let model = try SwinEncoder(config: cfg, batch: batch)
        model.initialize(seed: 7)
        // Larger-than-default weights so that every layer matters at finite-difference scale.
        var prng = Rng(seed: 8)
        for v in model.params.views {
            let p = model.params.value(v)
            for i in 0..<v.count { p[i] += prng.normal() * (v.name.hasSuffix("weight") && v.shape.count == 1 ? 0.2 : 0.3) }
        }
        let input = TestSupport.randn(batch * model.inputCount, seed: 9)
        let r = TestSupport.randn(batch * cfg.embeddingSize, seed: 10)
        func loss(_ x: [Float]) -> Double {
            var rng = Rng(seed: 99)  // same drop-path masks every call
            let out = model.forward(input: x, training: true, rng: &rng)
            return (0..<r.count).reduce(0.0) { $0 + Double(out[$1]) * Double(r[$1]) }
        }
        _ = loss(input)
        model.params.zeroGrads()
        var dinput = [Float](repeating: .nan, count: input.count)
        model.backward(dout: r, dinput: &dinput)
        // Input gradient on a spread of coordinates.
        let idx = stride(from: 5, to: input.count, by: input.count / 40).map { $0 }
        let num = TestSupport.numericGradient(input, eps: 1e-2, indices: idx, loss)
        let err = TestSupport.relativeError(idx.map { dinput[$0] }, idx.map { num[$0] })
        XCTAssertLessThan(err, 2e-2, "input gradient", file: file, line: line)
        // A few coordinates of every parameter tensor.
        var analytic: [Float] = [], numeric: [Float] = []
        for v in model.params.views {
            let p = model.params.value(v)
            for k in [0, v.count / 2, v.count - 1] {
                let o = p[k]
                p[k] = o + 1e-2; let fp = loss(input)
                p[k] = o - 1e-2; let fm = loss(input)
                p[k] = o
                analytic.append(model.params.grad(v)[k]); numeric.append(Float((fp - fm) / 2e-2))
            }
        }
        XCTAssertLessThan(TestSupport.relativeError(analytic, numeric), 2e-2, "parameter gradients", file: file, line: line)
        XCTAssertGreaterThan(numeric.map { abs($0) }.max()!, 1e-3, file: file, line: line)
    }

    func testBuffersReusedAndSmallerBatch() throws {
        let cfg = smallConfig(dropPath: 0)
        let model = try SwinEncoder(config: cfg, batch: 4)
        model.initialize(seed: 3)
        let input = TestSupport.randn(4 * model.inputCount, seed: 4), dout = TestSupport.randn(4 * cfg.embeddingSize, seed: 5)
        var rng = Rng(seed: 1)
        let full = Array(UnsafeBufferPointer(start: model.forward(input: input, training: false, rng: &rng), count: 4 * cfg.embeddingSize))
        model.params.zeroGrads()
        model.backward(dout: dout)
        let g1 = model.params.grads.array
        // Same step again: identical output; gradients accumulate to exactly twice.
        let again = Array(UnsafeBufferPointer(start: model.forward(input: input, training: false, rng: &rng), count: 4 * cfg.embeddingSize))
        XCTAssertEqual(again, full)
        model.backward(dout: dout)
        let g2 = model.params.grads.array
        XCTAssertLessThan(TestSupport.relativeError(g2, g1.map { 2 * $0 }), 1e-6)
        // A batch of 2 gives the first two rows.
        let two = Array(UnsafeBufferPointer(start: model.forward(input: input, batch: 2, training: false, rng: &rng), count: 2 * cfg.embeddingSize))
        XCTAssertLessThan(TestSupport.relativeError(two, Array(full[0..<(2 * cfg.embeddingSize)])), 1e-6)
    }

    /// The parallel paths (windows, row chunks, column blocks, BLAS threads) agree with one thread.
    func testThreadCountsAgree() throws {
        let cfg = smallConfig(dropPath: 0.2)
        let model = try SwinEncoder(config: cfg, batch: 5)
        model.initialize(seed: 11)
        let input = TestSupport.randn(5 * model.inputCount, seed: 12), dout = TestSupport.randn(5 * cfg.embeddingSize, seed: 13)
        func run(threads: Int, gemm: GemmThreading = .blas) -> ([Float], [Float], [Float]) {
            Threads.set(threads)
            model.gemmThreading = gemm
            defer { Threads.set(1) }
            var rng = Rng(seed: 14)
            let out = model.forward(input: input, training: true, rng: &rng)
            let o = Array(UnsafeBufferPointer(start: out, count: 5 * cfg.embeddingSize))
            model.params.zeroGrads()
            var dx = [Float](repeating: 0, count: input.count)
            model.backward(dout: dout, dinput: &dx)
            return (o, model.params.grads.array, dx)
        }
        let one = run(threads: 1)
        for gemm in GemmThreading.allCases {
            let three = run(threads: 3, gemm: gemm)
            XCTAssertLessThan(TestSupport.relativeError(three.0, one.0), 1e-5, "\(gemm)")
            XCTAssertLessThan(TestSupport.relativeError(three.1, one.1), 1e-5, "\(gemm)")
            XCTAssertLessThan(TestSupport.relativeError(three.2, one.2), 1e-5, "\(gemm)")
        }
        XCTAssertEqual(BLAS.threads, 1)
    }

    /// Tall stage-0 linears take the fused row-tile path under `.rows` (GELU in fc1's epilogue and
    /// fc2→fc1 backward prologue, per-thread weight-gradient partials): same outputs and gradients
    /// as one BLAS call per GEMM, on 1, 2 and 3 threads, with uneven tiles.
    func testFusedRowTilesMatchOneGemmPerLayer() throws {
        let cfg = SwinConfig(imageSize: [128, 128], patchSize: 4, embedDim: 8, depths: [2, 1], numHeads: [2, 2], windowSize: 4,
                             embeddingSize: 6, dropPathRate: 0.2)
        let batch = 3, rows = batch * 32 * 32
        let model = try SwinEncoder(config: cfg, batch: batch)
        model.initialize(seed: 31)
        let input = TestSupport.randn(batch * model.inputCount, seed: 32), dout = TestSupport.randn(batch * cfg.embeddingSize, seed: 33)
        func run(threads: Int, gemm: GemmThreading) -> [[Float]] {
            Threads.set(threads)
            model.gemmThreading = gemm
            defer { Threads.set(1) }
            for (i, o) in [(8, 24), (8, 32), (32, 8), (16, 8)] {     // qkv, fc1, fc2, patch embedding
                XCTAssertEqual(Linear.fuses(rows: rows, inDim: i, outDim: o, threading: gemm), gemm == .rows, "\(i)→\(o)")
            }
            var rng = Rng(seed: 34)
            let out = Array(UnsafeBufferPointer(start: model.forward(input: input, training: true, rng: &rng), count: batch * cfg.embeddingSize))
            model.params.zeroGrads()
            var dx = [Float](repeating: 0, count: input.count)
            model.backward(dout: dout, dinput: &dx)
            return [out, model.params.grads.array, dx]
        }
        let reference = run(threads: 1, gemm: .blas)
        for threads in [1, 2, 3] {
            let fused = run(threads: threads, gemm: .rows)
            for (name, (a, b)) in zip(["output", "parameter gradients", "input gradient"], zip(fused, reference)) {
                XCTAssertLessThan(TestSupport.relativeError(a, b), 1e-5, "\(threads) threads: \(name)")
            }
        }
    }

    /// A forward-only model shares buffers across layers and computes the same outputs.
    func testForwardOnlyMatchesAndIsSmaller() throws {
        let cfg = smallConfig(dropPath: 0.3)
        let full = try SwinEncoder(config: cfg, batch: 3), lean = try SwinEncoder(config: cfg, batch: 3, forwardOnly: true)
        full.initialize(seed: 21)
        lean.params.values.ptr.update(from: full.params.values.ptr, count: full.params.count)
        let input = TestSupport.randn(3 * full.inputCount, seed: 22)
        for training in [false, true] {
            var r1 = Rng(seed: 23), r2 = Rng(seed: 23)
            let a = Array(UnsafeBufferPointer(start: full.forward(input: input, training: training, rng: &r1), count: 3 * cfg.embeddingSize))
            let b = Array(UnsafeBufferPointer(start: lean.forward(input: input, training: training, rng: &r2), count: 3 * cfg.embeddingSize))
            XCTAssertEqual(a, b, "training \(training)")
        }
        XCTAssertLessThan(lean.plan.bytes * 2, full.plan.bytes, "forward-only \(lean.plan.bytes) vs \(full.plan.bytes) bytes")
    }

    /// timm-like init: linears and tables N(0, 0.02²), LayerNorm 1/0, biases 0, conv U(±1/√fan_in).
    func testInitialisation() throws {
        let model = try SwinEncoder(config: try XCTUnwrap(SwinConfig.preset("tiny")), batch: 1)
        model.initialize(seed: 5)
        let p = model.params
        func values(_ n: String) throws -> [Float] {
            let v = try XCTUnwrap(p.view(n), n)
            return Array(UnsafeBufferPointer(start: p.value(v), count: v.count))
        }
        let fc1 = try values("layers.1.blocks.0.mlp.fc1.weight")
        let mean = fc1.reduce(0, +) / Float(fc1.count)
        let std = (fc1.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(fc1.count)).squareRoot()
        XCTAssertEqual(std, 0.02, accuracy: 0.001)
        XCTAssertEqual(mean, 0, accuracy: 0.001)
        XCTAssertGreaterThan(try values("layers.0.blocks.1.attn.relative_position_bias_table").map { abs($0) }.max()!, 0.01)
        XCTAssertEqual(Set(try values("layers.0.blocks.0.norm1.weight")), [1])
        XCTAssertEqual(Set(try values("layers.0.blocks.0.norm1.bias")), [0])
        XCTAssertEqual(Set(try values("layers.1.blocks.1.attn.qkv.bias")), [0])
        let conv = try values("patch_embed.proj.weight")
        XCTAssertLessThanOrEqual(conv.map { abs($0) }.max()!, 0.25)
        XCTAssertGreaterThan(conv.map { abs($0) }.max()!, 0.2)
        // Same seed, same values; another seed, different values.
        let before = p.values.array
        model.initialize(seed: 5)
        XCTAssertEqual(p.values.array, before)
        model.initialize(seed: 6)
        XCTAssertNotEqual(p.values.array, before)
    }

    func testParameterNamesAndDecay() throws {
        let cfg = try XCTUnwrap(SwinConfig.preset("swin-t"))
        let model = try SwinEncoder(config: cfg, batch: 1)
        let p = model.params
        XCTAssertEqual(p.view("patch_embed.proj.weight")?.shape, [96, 1, 4, 4])
        XCTAssertEqual(p.view("layers.1.downsample.reduction.weight")?.shape, [192, 384])
        XCTAssertEqual(p.view("layers.2.blocks.5.attn.relative_position_bias_table")?.shape, [225, 12])
        XCTAssertEqual(p.view("head.fc.weight")?.shape, [512, 768])
        XCTAssertNil(p.view("layers.0.downsample.norm.weight"))
        XCTAssertNil(p.view("layers.0.blocks.0.attn.relative_position_index"))
        // timm swin_tiny_patch4_window7_224 has 28,288,354; window 8 adds 138 heads × (225 − 169) table
        // entries, 512 classes instead of 1000 remove 375,272, one input channel removes 3,072.
        XCTAssertEqual(p.parameterCount, 28_288_354 + 138 * 56 - 375_272 - 3_072)
        for v in p.views {
            let expectDecay = v.shape.count >= 2 && !v.name.hasSuffix("relative_position_bias_table")
            XCTAssertEqual(v.decay, expectDecay, v.name)
        }
        XCTAssertGreaterThan(model.activationBytesPerSample, 0)
    }

    func testLoadErrorsNameTheTensor() throws {
        let cfg = smallConfig(dropPath: 0)
        let model = try SwinEncoder(config: cfg, batch: 1)
        let dir = TestSupport.tempDir()
        var w = SafetensorsWriter()
        for t in model.timmTensors() { w.add(t.name, shape: t.shape, floats: t.values) }
        let good = dir.appendingPathComponent("good.safetensors").path
        try w.write(to: good)
        let other = try SwinEncoder(config: cfg, batch: 1)
        other.initialize(seed: 42)
        try other.loadTimm(SafetensorsFile(path: good))
        XCTAssertEqual(other.params.values.array, model.params.values.array)

        var extra = w
        extra.add("layers.9.blocks.0.norm1.weight", shape: [3], floats: [1, 2, 3])
        let extraPath = dir.appendingPathComponent("extra.safetensors").path
        try extra.write(to: extraPath)
        XCTAssertThrowsError(try other.loadTimm(SafetensorsFile(path: extraPath))) { e in
            XCTAssertTrue("\(e)".contains("layers.9.blocks.0.norm1.weight") && "\(e)".contains("extra.safetensors"), "\(e)")
        }
        var bad = SafetensorsWriter()
        for t in model.timmTensors() {
            if t.name == "head.fc.weight" { bad.add(t.name, shape: [1000, 32], floats: [Float](repeating: 0, count: 32000)) }
            else if t.name != "norm.bias" { bad.add(t.name, shape: t.shape, floats: t.values) }
        }
        let badPath = dir.appendingPathComponent("bad.safetensors").path
        try bad.write(to: badPath)
        XCTAssertThrowsError(try other.loadTimm(SafetensorsFile(path: badPath))) { e in
            XCTAssertTrue("\(e)".contains("head.fc.weight") && "\(e)".contains("[1000, 32]"), "\(e)")
        }
        XCTAssertThrowsError(try SwinEncoder(config: SwinConfig(imageSize: [36, 64], embedDim: 8, depths: [1, 1], numHeads: [1, 1],
                                                                windowSize: 4), batch: 1)) { e in
            XCTAssertTrue("\(e)".contains("9×16") || "\(e)".contains("even"), "\(e)")
        }
    }
}

#if os(Linux)
/// Steady-state steps reuse the planned buffers: resident memory does not grow across steps.
final class SwinSteadyStateTests: XCTestCase {
    func testStepsDoNotGrowTheHeap() throws {
        let cfg = SwinConfig(imageSize: [32, 64], embedDim: 16, depths: [2, 2], numHeads: [2, 4], windowSize: 4,
                             embeddingSize: 8, dropPathRate: 0.1)
        let model = try SwinEncoder(config: cfg, batch: 4)
        let input = Tensor([4 * model.inputCount]), dout = Tensor([4 * 8]), dinput = Tensor([4 * model.inputCount])
        var rng = Rng(seed: 1)
        rng.fillNormal(input.ptr, input.count); rng.fillNormal(dout.ptr, dout.count)
        func step() {
            model.params.zeroGrads()
            model.forward(input: input.ptr, training: true, rng: &rng)
            model.backward(dout: dout.ptr, dinput: dinput.ptr)
        }
        step(); step()
        func residentBytes() throws -> Int {
            let statm = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
            return Int(statm[1])! * 4096
        }
        let before = try residentBytes()
        for _ in 0..<5 { step() }
        let after = try residentBytes()
        XCTAssertLessThanOrEqual(after - before, 1 << 20, "resident memory grew by \(after - before) bytes over 5 steps")
        XCTAssertGreaterThan(model.plan.bytes, 4 * model.inputCount * 4)
    }

    /// `onGradientsReady(offset)` comes only when every gradient at `offset` and above is final:
    /// nothing the rest of backward does changes them. Offsets fall to 0.
    func testGradientsReadyOffsetsAreFinal() throws {
        var c = try XCTUnwrap(SwinConfig.preset("tiny"))
        c.imageSize = [32, 32]; c.embeddingSize = 8
        let m = try SwinEncoder(config: c, batch: 2)
        m.initialize(seed: 3)
        let x = TestSupport.randn(2 * m.inputCount, seed: 4), dout = TestSupport.randn(16, seed: 5)
        var rng = Rng(seed: 1)
        var snapshots: [(Int, [Float])] = []
        m.onGradientsReady = { offset in
            snapshots.append((offset, Array(UnsafeBufferPointer(start: m.params.grads.ptr + offset, count: m.params.count - offset))))
        }
        m.params.zeroGrads()
        x.withUnsafeBufferPointer { _ = m.forward(input: $0.baseAddress!, training: false, rng: &rng) }
        dout.withUnsafeBufferPointer { m.backward(dout: $0.baseAddress!) }
        let offsets = snapshots.map(\.0)
        XCTAssertEqual(offsets.last, 0)
        XCTAssertEqual(offsets, offsets.sorted(by: >), "offsets only fall")
        XCTAssertEqual(offsets.count, 2 + c.depths.reduce(0, +) + (c.depths.count - 1) + 1)
        let final = m.params.grads.array
        for (offset, snap) in snapshots { XCTAssertEqual(snap, Array(final[offset...]), "gradients above \(offset) changed later") }
    }
}
#endif
