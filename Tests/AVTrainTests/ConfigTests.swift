import XCTest
import Foundation
import AVTrain
import TestSupport
import AVModel

final class TOMLTests: XCTestCase {
    func testValuesCommentsAndSections() throws {
        let text = """
            # a comment
            top = 1
            [a]
            s = "x # not a comment \\" q"   # trailing comment
            lit = 'C:\\path'
            i = -1_000
            f = 2.5e-3
            g = 3.0
            t = true
            arr = [1, 2.5, "z", [false]]
            [b.c]
            empty = []
            """
        let e = try TOML.parse(text, file: "t.toml")
        let byPath = Dictionary(uniqueKeysWithValues: e.map { ($0.path, $0) })
        XCTAssertEqual(byPath["top"]?.value, .integer(1))
        XCTAssertEqual(byPath["a.s"]?.value, .string("x # not a comment \" q"))
        XCTAssertEqual(byPath["a.lit"]?.value, .string("C:\\path"))
        XCTAssertEqual(byPath["a.i"]?.value, .integer(-1000))
        XCTAssertEqual(byPath["a.f"]?.value, .float(2.5e-3))
        XCTAssertEqual(byPath["a.g"]?.value, .float(3))
        XCTAssertEqual(byPath["a.t"]?.value, .boolean(true))
        XCTAssertEqual(byPath["a.arr"]?.value, .array([.integer(1), .float(2.5), .string("z"), .array([.boolean(false)])]))
        XCTAssertEqual(byPath["b.c.empty"]?.value, .array([]))
        XCTAssertEqual(byPath["a.f"]?.location, "t.toml:7")
    }

    func testSyntaxErrorsNameTheLine() {
        for (text, line, needle) in [("[a]\nx = \"open", 2, "parsing string"), ("x = 1\ny = yes", 2, "value type"),
                                     ("\n\nnot a pair", 3, "expected '='"), ("a = 1\na = 2", 2, "redefine"),
                                     ("a = [1, 2", 1, "parsing array"), ("[[t]]\nx = 1", 1, "tables inside arrays"),
                                     ("a = 1 2", 1, "parsing"), ("[o]\nx = 1\n[o]\ny = 2", 3, "redefin"),
                                     ("d = 1979-05-27", 1, "dates")] {
            XCTAssertThrowsError(try TOML.parse(text, file: "f.toml"), text) { e in
                let c = e as? ConfigError
                XCTAssertEqual(c?.location, "f.toml:\(line)", text)
                XCTAssertTrue("\(e)".contains(needle), "\(e)")
            }
        }
    }

    /// TOML 1.0 as written on Windows and by hand: CRLF, multi-line arrays, inline tables, dotted
    /// keys, quoted keys; each entry knows its line.
    func testFullTOML() throws {
        let text = "# crlf\r\n[optim]\r\nlr = 2e-3\r\nbetas = [\r\n  0.8,  # first\r\n  0.9,\r\n]\r\n"
            + "model = { preset = \"swin-t\", window = 4 }\r\ntrain.seed = 7\r\n[\"frontend\"]\r\n\"n_mels\" = 32\r\n"
        let e = try TOML.parse(text, file: "w.toml")
        let byPath = Dictionary(uniqueKeysWithValues: e.map { ($0.path, $0) })
        XCTAssertEqual(byPath["optim.lr"]?.value, .float(2e-3)); XCTAssertEqual(byPath["optim.lr"]?.location, "w.toml:3")
        XCTAssertEqual(byPath["optim.betas"]?.value, .array([.float(0.8), .float(0.9)]))
        XCTAssertEqual(byPath["optim.betas"]?.location, "w.toml:4")
        XCTAssertEqual(byPath["optim.model.preset"]?.value, .string("swin-t"))
        XCTAssertEqual(byPath["optim.model.window"]?.location, "w.toml:8")
        XCTAssertEqual(byPath["optim.train.seed"]?.location, "w.toml:9")
        XCTAssertEqual(byPath["frontend.n_mels"]?.value, .integer(32)); XCTAssertEqual(byPath["frontend.n_mels"]?.location, "w.toml:11")
        // The same as a training config: a CRLF file is honoured, not silently replaced by defaults.
        let c = try TrainConfig.parse("loss = { audio_audio = 0.25 }\r\n[model]\r\npreset = \"swin-t\"\r\n[optim]\r\nbetas = [\r\n 0.8,\r\n 0.95\r\n]\r\n"
                                      + "[data]\r\nbatch_per_rank = 4\r\n", file: "w.toml")
        XCTAssertEqual(c.loss.audioAudio, 0.25); XCTAssertEqual(c.origins["data.batch_per_rank"], "w.toml:10")
        XCTAssertEqual(c.model.preset, "swin-t"); XCTAssertEqual(c.optim.betas, [0.8, 0.95]); XCTAssertEqual(c.data.batchPerRank, 4)
        XCTAssertThrowsError(try TrainConfig.parse("[data]\nloss = { audio_audio = 0.25 }", file: "w.toml")) { e in
            XCTAssertEqual((e as? ConfigError)?.key, "data.loss.audio_audio")
        }
        let ok = try TrainConfig.parse("loss = { audio_audio = 0.25 }\noptim.lr = 1e-3", file: "w.toml")
        XCTAssertEqual(ok.loss.audioAudio, 0.25); XCTAssertEqual(ok.optim.lr, 1e-3)
        XCTAssertEqual(ok.origins["optim.lr"], "w.toml:2")
    }
}

final class TrainConfigTests: XCTestCase {
    func error(_ text: String, overrides: [String] = []) -> ConfigError? {
        do { _ = try TrainConfig.parse(text, file: "c.toml", overrides: overrides); return nil } catch { return error as? ConfigError }
    }

    func testReadsEverySection() throws {
        let c = try TrainConfig.parse("""
            [model]
            preset = "swin-t"
            window = 4
            [data]
            train_manifest = "x/train/manifest.json"
            batch_per_rank = 8
            on_bad_clip = "skip"
            [frontend]
            n_mels = 32
            image_height = 128
            clip_samples = 40000
            [loss]
            audio_audio = 0.5
            momentum_kd = 1
            [optim]
            optimizer = "sgd"
            lr = 1
            betas = [0.8, 0.99]
            [train]
            steps = 100
            out_dir = "runs/x"
            """, file: "c.toml")
        XCTAssertEqual(c.model.preset, "swin-t"); XCTAssertEqual(c.model.window, 4)
        XCTAssertEqual(c.data.batchPerRank, 8); XCTAssertEqual(c.data.onBadClip, .skip)
        XCTAssertEqual(c.frontend.nMels, 32); XCTAssertEqual(c.frontend.imageHeight, 128); XCTAssertEqual(c.frontend.clipSamples, 40000)
        XCTAssertEqual(c.loss.audioAudio, 0.5); XCTAssertEqual(c.loss.momentumKD, 1); XCTAssertEqual(c.loss.audioText, 1)
        XCTAssertEqual(c.optim.optimizer, .sgd); XCTAssertEqual(c.optim.lr, 1); XCTAssertEqual(c.optim.betas, [0.8, 0.99])
        XCTAssertEqual(c.train.steps, 100); XCTAssertEqual(c.train.outDir, "runs/x")
        XCTAssertEqual(c.origins["optim.lr"], "c.toml:17")
    }

    func testUnknownKeyWrongTypeAndBadValueNameFileLineAndKey() {
        var e = error("[optim]\nlr = 1e-3\nlearning_rate = 2")
        XCTAssertEqual(e?.location, "c.toml:3"); XCTAssertEqual(e?.key, "optim.learning_rate")
        XCTAssertTrue(e?.reason.contains("unknown key") == true, "\(String(describing: e))")
        e = error("[optimiser]\nlr = 1")
        XCTAssertEqual(e?.location, "c.toml:2"); XCTAssertTrue(e?.reason.contains("unknown section [optimiser]") == true)
        e = error("[data]\n\nbatch_per_rank = \"32\"")
        XCTAssertEqual(e?.location, "c.toml:3"); XCTAssertEqual(e?.key, "data.batch_per_rank")
        XCTAssertTrue(e?.reason.contains("expected integer, got string") == true, "\(String(describing: e))")
        e = error("[optim]\noptimizer = \"adam\"")
        XCTAssertEqual(e?.location, "c.toml:2"); XCTAssertEqual(e?.key, "optim.optimizer")
        e = error("[optim]\nbetas = [0.9]")
        XCTAssertEqual(e?.key, "optim.betas")
        e = error("[frontend]\nn_mels = 48\nfold = true")   // image_height 256 is not a multiple of 48
        XCTAssertEqual(e?.key, "frontend.image_height"); XCTAssertEqual(e?.location, "default")
        e = error("[frontend]\nwin_length = 4000")
        XCTAssertEqual(e?.key, "frontend.win_length"); XCTAssertEqual(e?.location, "c.toml:2")
        e = error("[model]\npreset = \"huge\"")
        XCTAssertEqual(e?.key, "model.preset"); XCTAssertTrue(e?.reason.contains("swin-b") == true)
        e = error("[loss]\naudio_text = 0\naudio_image = 0")
        XCTAssertTrue(e?.reason.contains("every loss weight is zero") == true)
    }

    /// Architecture overrides, the embedding width and global_batch.
    func testModelKeysAndGlobalBatch() throws {
        let c = try TrainConfig.parse("[model]\npreset = \"swin-t\"\nembed_dim = 32\ndepths = [2, 2]\nnum_heads = [2, 4]\n"
                                      + "mlp_ratio = 2.0\npatch_size = 2\nwindow = 4\n[frontend]\nimage_width = 256", file: "c.toml")
        let s = try c.swinConfig(embeddingDim: 24)
        XCTAssertEqual(s.embedDim, 32); XCTAssertEqual(s.depths, [2, 2]); XCTAssertEqual(s.numHeads, [2, 4])
        XCTAssertEqual(s.mlpRatio, 2); XCTAssertEqual(s.patchSize, 2); XCTAssertEqual(s.embeddingSize, 24)
        var e = error("[model]\ndepths = [2, 2, 2]")                        // tiny has 2 head counts
        XCTAssertEqual(e?.key, "model.depths")
        e = error("[model]\nembed_dim = 30\nnum_heads = [4, 8]")
        XCTAssertEqual(e?.key, "model.num_heads"); XCTAssertTrue(e?.reason.contains("not divisible") == true)
        XCTAssertThrowsError(try TrainConfig.parse("[model]\nembedding_dim = 512", file: "c.toml").swinConfig(embeddingDim: 64)) {
            XCTAssertEqual(($0 as? ConfigError)?.key, "model.embedding_dim")
        }
        let g = try TrainConfig.parse("[data]\nglobal_batch = 64", file: "c.toml")
        XCTAssertEqual(try g.resolved(worldSize: 4).data.batchPerRank, 16)
        XCTAssertThrowsError(try g.resolved(worldSize: 3)) { XCTAssertEqual(($0 as? ConfigError)?.key, "data.global_batch") }
        let both = try TrainConfig.parse("[data]\nglobal_batch = 64\nbatch_per_rank = 8", file: "c.toml")
        XCTAssertThrowsError(try both.resolved(worldSize: 4)) { XCTAssertEqual(($0 as? ConfigError)?.location, "c.toml:3") }
        XCTAssertEqual(try both.resolved(worldSize: 8).data.batchPerRank, 8)
    }

    /// `[eval]`: off by default; a set needs a class file; one kind of set; EMA needs the teacher.
    func testEvalSection() throws {
        XCTAssertFalse(try TrainConfig.parse("", file: "c.toml").eval.enabled)
        let c = try TrainConfig.parse("[eval]\nmanifest = \"e/manifest.json\"\nclasses = \"c.st\"\nevery = 10", file: "c.toml")
        XCTAssertTrue(c.eval.enabled); XCTAssertEqual(c.eval.every, 10); XCTAssertEqual(c.eval.batch, 32)
        var e = error("[eval]\nmanifest = \"e\"")
        XCTAssertEqual(e?.key, "eval.classes"); XCTAssertEqual(e?.location, "default")
        e = error("[eval]\nroot = \"ESC-50-master\"\nclasses = \"c\"\ndataset = \"esc-50\"")
        XCTAssertEqual(e?.key, "eval.dataset"); XCTAssertEqual(e?.location, "c.toml:4")
        e = error("[eval]\nroot = \"r\"\nmanifest = \"m\"\ndataset = \"us8k\"\nclasses = \"c\"")
        XCTAssertEqual(e?.key, "eval.root"); XCTAssertTrue(e?.reason.contains("not both") == true)
        e = error("[eval]\nmanifest = \"m\"\nclasses = \"c\"\nema = true")
        XCTAssertEqual(e?.key, "eval.ema"); XCTAssertTrue(e?.reason.contains("momentum_kd") == true)
        e = error("[eval]\nmanifest = \"m\"\nclasses = \"c\"\nevery = -1")
        XCTAssertEqual(e?.key, "eval.every")
        e = error("[eval]\nmanifest = \"m\"\nclasses = \"c\"\nbatch = 0")
        XCTAssertEqual(e?.key, "eval.batch")
    }

    func testSetOverrides() throws {
        let c = try TrainConfig.parse("[optim]\nlr = 1e-3\n", file: "c.toml",
                                      overrides: ["optim.lr=5e-4", "optim.optimizer=sgd", "train.out_dir=runs/a b", "optim.betas=[0.5, 0.6]"])
        XCTAssertEqual(c.optim.lr, 5e-4); XCTAssertEqual(c.optim.optimizer, .sgd); XCTAssertEqual(c.train.outDir, "runs/a b")
        XCTAssertEqual(c.optim.betas, [0.5, 0.6]); XCTAssertEqual(c.origins["optim.lr"], "--set")
        XCTAssertEqual(error("", overrides: ["optim.lr"])?.location, "--set")
        XCTAssertEqual(error("", overrides: ["optim.rate=1"])?.key, "optim.rate")
        XCTAssertEqual(error("", overrides: ["train.steps=many"])?.reason.contains("expected integer"), true)
        XCTAssertEqual(error("", overrides: ["optim.lr=-1"])?.location, "--set")
    }

    func testResolvedConfigJSONRoundTrips() throws {
        let c = try TrainConfig.parse("[loss]\nweak_kd = 0.25\n[frontend]\nn_mels = 128\nimage_height = 256", file: "c.toml")
        var back = try JSONDecoder().decode(TrainConfig.self, from: Data(c.json().utf8))
        XCTAssertEqual(back.origins, [:])
        back.origins = c.origins
        XCTAssertEqual(back, c)
        XCTAssertTrue(c.json().contains("\"weakKD\":0.25"))
    }

    func testLaunchConfigsParse() throws {
        let root = TestSupport.packageRoot
        for name in ["demo.toml", "swin-b.toml"] {
            XCTAssertNoThrow(try TrainConfig.load(path: root.appendingPathComponent("Launch/\(name)").path), name)
        }
    }
}

final class ScheduleAndSGDTests: XCTestCase {
    func testWarmupThenCosine() {
        let s = LRSchedule(peak: 1, minLR: 0.1, warmupSteps: 4, totalSteps: 14)
        XCTAssertEqual(s.lr(at: 0), 0.25, accuracy: 1e-7); XCTAssertEqual(s.lr(at: 3), 1, accuracy: 1e-7)
        XCTAssertEqual(s.lr(at: 4), 1, accuracy: 1e-7)
        XCTAssertEqual(s.lr(at: 9), 0.55, accuracy: 1e-6)   // halfway: min + (peak − min)/2
        XCTAssertEqual(s.lr(at: 14), 0.1, accuracy: 1e-7)
        XCTAssertEqual(LRSchedule(kind: .constant, peak: 2, warmupSteps: 0, totalSteps: 10).lr(at: 7), 2)
    }

    /// Cyclic cosine (warm restarts) against its formula, with growing cycles; linear and step decay.
    func testCyclicLinearAndStepSchedules() {
        var s = LRSchedule(kind: .cyclic, peak: 1, minLR: 0.2, warmupSteps: 2, totalSteps: 100)
        s.cycleSteps = 10; s.cycleMult = 2
        func formula(_ t: Int, start: Int, length: Int) -> Float { 0.2 + 0.8 * Float(0.5 * (1 + cos(Double.pi * Double(t - start) / Double(length)))) }
        for step in 2..<72 {
            let t = step - 2
            let (start, length) = t < 10 ? (0, 10) : (t < 30 ? (10, 20) : (30, 40))
            XCTAssertEqual(s.lr(at: step), formula(t, start: start, length: length), accuracy: 1e-6, "step \(step)")
        }
        XCTAssertEqual(s.lr(at: 12), 1, accuracy: 1e-6, "restart at t = 10")
        XCTAssertEqual(s.lr(at: 32), 1, accuracy: 1e-6, "restart at t = 30")
        let lin = LRSchedule(kind: .linear, peak: 1, minLR: 0, warmupSteps: 0, totalSteps: 10)
        XCTAssertEqual(lin.lr(at: 0), 1); XCTAssertEqual(lin.lr(at: 5), 0.5, accuracy: 1e-7); XCTAssertEqual(lin.lr(at: 10), 0)
        var st = LRSchedule(kind: .step, peak: 1, minLR: 0.005, warmupSteps: 0, totalSteps: 100)
        st.decaySteps = 30; st.decayFactor = 0.1
        XCTAssertEqual(st.lr(at: 29), 1); XCTAssertEqual(st.lr(at: 30), 0.1, accuracy: 1e-7)
        XCTAssertEqual(st.lr(at: 60), 0.01, accuracy: 1e-8); XCTAssertEqual(st.lr(at: 90), 0.005, "floored at min_lr")
    }

    /// The CAVT-MAE α ramp and the cosine EMA-momentum schedule against hand-computed values.
    func testAlphaRampAndEMAMomentumSchedule() throws {
        let c = try TrainConfig.parse("[loss]\nalpha = 0.4\nalpha_ramp_steps = 10\nema_momentum = 0.995\nema_momentum_end = 1.0", file: "c.toml")
        XCTAssertTrue(c.loss.usesTeacher)
        XCTAssertEqual(c.loss.weights(at: 0).audioImage, 1); XCTAssertEqual(c.loss.weights(at: 0).momentumKD, 0)
        XCTAssertEqual(c.loss.weights(at: 5).audioImage, 0.8, accuracy: 1e-7)
        XCTAssertEqual(c.loss.weights(at: 5).momentumKD, 0.1, accuracy: 1e-7)
        XCTAssertEqual(c.loss.weights(at: 50).audioImage, 0.6, accuracy: 1e-7)
        XCTAssertEqual(c.loss.weights(at: 50).momentumKD, 0.2, accuracy: 1e-7)
        XCTAssertEqual(c.loss.weights(at: 50).audioText, 1)
        XCTAssertEqual(c.loss.emaMomentum(at: 0, of: 100), 0.995, accuracy: 1e-7)
        XCTAssertEqual(c.loss.emaMomentum(at: 50, of: 100), 0.9975, accuracy: 1e-6)
        XCTAssertEqual(c.loss.emaMomentum(at: 100, of: 100), 1, accuracy: 1e-7)
        XCTAssertEqual(try TrainConfig.parse("", file: "c.toml").loss.emaMomentum(at: 50, of: 100), 0.995, "constant by default")
        XCTAssertThrowsError(try TrainConfig.parse("[loss]\nalpha = 0.4\naudio_image = 0.5", file: "c.toml")) {
            XCTAssertEqual(($0 as? ConfigError)?.key, "loss.audio_image")
        }
    }

    /// The default no_decay patterns give exactly the encoder's own decay flags; others change them.
    func testDecayRule() throws {
        for preset in ["tiny", "swin-t"] {
            var s = try XCTUnwrap(SwinConfig.preset(preset))
            s.imageSize = [64, 64]; s.windowSize = 4
            let model = try SwinEncoder(config: s, batch: 1, forwardOnly: true)
            for v in model.params.views { XCTAssertEqual(DecayRule().decays(v.name), v.decay, v.name) }
        }
        let rule = try TrainConfig.parse("[optim]\nno_decay = [\"bias\"]", file: "c.toml").optim.noDecay
        XCTAssertTrue(DecayRule(patterns: rule).decays("layers.0.blocks.0.norm1.weight"))
        XCTAssertFalse(DecayRule(patterns: rule).decays("head.fc.bias"))
    }

    /// torch.optim.SGD(momentum=0.9, weight_decay=0.1) by hand for two steps; no decay on the bias view.
    func testSGDMomentumAndCoupledDecay() {
        let store = ParameterStoreFixture.make()
        let sgd = SGD(count: store.count, lr: 0.5, momentum: 0.9, weightDecay: 0.1)
        let w = store.view("w")!, b = store.view("b")!
        store.value(w)[0] = 1; store.value(b)[0] = 1
        store.grad(w)[0] = 0.2; store.grad(b)[0] = 0.2
        sgd.update(store)
        // step 1: g = 0.2 + 0.1·1 = 0.3, buf = 0.3, p = 1 − 0.15 = 0.85 (bias: g = 0.2, p = 0.9)
        XCTAssertEqual(store.value(w)[0], 0.85, accuracy: 1e-6); XCTAssertEqual(store.value(b)[0], 0.9, accuracy: 1e-6)
        sgd.update(store)
        // step 2: g = 0.2 + 0.085 = 0.285, buf = 0.27 + 0.285 = 0.555, p = 0.85 − 0.2775 = 0.5725
        XCTAssertEqual(store.value(w)[0], 0.5725, accuracy: 1e-6)
        // bias: buf = 0.18 + 0.2 = 0.38, p = 0.9 − 0.19 = 0.71
        XCTAssertEqual(store.value(b)[0], 0.71, accuracy: 1e-6)
    }
}

import AVTensor
enum ParameterStoreFixture {
    static func make() -> ParameterStore {
        let s = ParameterStore()
        s.declare("w", [1], decay: true); s.declare("b", [1], decay: false)
        s.allocate()
        return s
    }
}
