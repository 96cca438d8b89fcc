import XCTest
import Foundation
import AVTensor
import AVData
import AVDist
import AVSafetensors
import AVEval
import AVTrain
import TestSupport
import RunFixtures

final class TrainerTests: XCTestCase {
    override func setUp() { Threads.set(1) }

    /// The in-memory history keeps only recent steps (between `historyLimit` and twice that).
    func testHistoryIsBounded() throws {
        let m = try TinyRun.data(), out = TestSupport.tempDir("avtrain-hist").path
        let t = try Trainer(config: try TinyRun.config(manifest: m, out: out, overrides: ["train.steps=11"]),
                            comm: InProcessCommunicator.single())
        t.log = { _ in }
        t.historyLimit = 3
        let wall = Stopwatch()
        try t.run()
        let runSeconds = wall.seconds
        XCTAssertEqual(t.step, 11)
        XCTAssertTrue((3..<6).contains(t.history.count), "\(t.history.count) steps kept")
        XCTAssertEqual(t.history.map(\.step), Array((12 - t.history.count)...11))
        // Every phase of the step was timed, and together they stay within the run's time.
        let p = t.phases
        for (name, secs) in p.named where name != "allreduce_wait" { XCTAssertGreaterThan(secs, 0, name) }
        XCTAssertGreaterThanOrEqual(p.allReduceWait, 0)
        XCTAssertLessThanOrEqual(p.named.reduce(0) { $0 + $1.1 }, runSeconds)
        XCTAssertGreaterThan(p.forward + p.backward, p.optimizer, "the encoder dominates a step")
    }

    /// 40 steps (10 epochs of 4 steps) on the tiny set: the loss falls well below its start.
    func testLossDecreases() throws {
        let m = try TinyRun.data(), out = TestSupport.tempDir("avtrain-run").path
        let t = try Trainer(config: try TinyRun.config(manifest: m, out: out), comm: InProcessCommunicator.single())
        var lines: [String] = []
        t.log = { lines.append($0) }
        try t.run()
        XCTAssertEqual(t.step, 40)
        XCTAssertEqual(t.history.count, 40)
        XCTAssertFalse(t.history.contains { $0.skipped })
        let first = t.history.prefix(4).map(\.total).reduce(0, +) / 4
        let last = t.history.suffix(4).map(\.total).reduce(0, +) / 4
        XCTAssertLessThan(last, 0.75 * first, "loss \(first) → \(last)")
        XCTAssertLessThan(t.history.suffix(4).map { $0.values["audio_text"]! }.reduce(0, +) / 4, log(16) * 0.8, "audio_text vs chance ln 16")
        // Progress: rank 0 printed the first, every 10th and the last step; JSONL has the same steps.
        XCTAssertEqual(lines.filter { $0.hasPrefix("step ") }.count, 5, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.hasPrefix("step 40/40 epoch 10 | loss ") && $0.contains("audio_text") && $0.contains("samples/s")
            && $0.contains("ETA") && $0.contains("| s ") && $0.contains("| lr ") }, lines.joined(separator: "\n"))
        let jsonl = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(jsonl.count, 5)
        let lastRecord = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(jsonl.last!.utf8)) as? [String: Any])
        XCTAssertEqual(lastRecord["step"] as? Int, 40)
        XCTAssertEqual(lastRecord["loss"] as? Double ?? 0, Double(t.history.last!.total), accuracy: 1e-5)
        XCTAssertNotNil(lastRecord["weak_kd"]); XCTAssertNotNil(lastRecord["logit_scale"]); XCTAssertNotNil(lastRecord["lr"])
        // The final checkpoint.
        XCTAssertEqual(Checkpoints.list(in: out).map { ($0 as NSString).lastPathComponent }, ["step-00000040.safetensors"])
    }

    /// The raw logit scale is clamped to [0, ln 100] after every update: an initial 4.7 (above
    /// ln 100, where the loss's min(s, 100) gives it no gradient) comes down to ln 100 and moves on.
    func testLogitScaleIsClamped() throws {
        let m = try TinyRun.data(), out = TestSupport.tempDir("avtrain-clamp").path
        let t = try Trainer(config: try TinyRun.config(manifest: m, out: out, overrides: ["train.steps=3", "loss.logit_scale_init=4.7"]),
                            comm: InProcessCommunicator.single())
        t.log = { _ in }
        XCTAssertEqual(t.logitScale.values.ptr[0], 4.7)
        try t.run()
        XCTAssertLessThanOrEqual(t.logitScale.values.ptr[0], Float(log(100.0)))
        XCTAssertGreaterThan(t.logitScale.values.ptr[0], 4.5)
        let low = try Trainer(config: try TinyRun.config(manifest: m, out: out + "2", overrides: ["train.steps=2", "loss.logit_scale_init=-1"]),
                              comm: InProcessCommunicator.single())
        low.log = { _ in }
        try low.run()
        XCTAssertGreaterThanOrEqual(low.logitScale.values.ptr[0], 0)
    }

    /// A checkpoint holds exactly the trainer's tensors and metadata; keep_last prunes old ones.
    func testCheckpointRoundTripAndKeepLast() throws {
        let m = try TinyRun.data(), out = TestSupport.tempDir("avtrain-ckpt").path
        let cfg = try TinyRun.config(manifest: m, out: out, overrides: ["train.steps=5", "train.checkpoint_every=1", "train.keep_last=2",
                                                                        "loss.momentum_kd=0.5"])
        let t = try Trainer(config: cfg, comm: InProcessCommunicator.single())
        t.log = { _ in }
        try t.run()
        XCTAssertEqual(Checkpoints.list(in: out).map { ($0 as NSString).lastPathComponent },
                       ["step-00000004.safetensors", "step-00000005.safetensors"])
        let f = try SafetensorsFile(path: try XCTUnwrap(Checkpoints.latest(in: out)))
        XCTAssertEqual(f.metadata["step"], "5"); XCTAssertEqual(f.metadata["epoch"], "1"); XCTAssertEqual(f.metadata["position"], "1")
        XCTAssertEqual(f.metadata["optimizer_step"], "5"); XCTAssertEqual(f.metadata["format"], "avtrain-checkpoint")
        XCTAssertEqual(f.metadata["config"], cfg.json())
        let p = t.model.params, ema = try XCTUnwrap(t.ema)
        let adam = try XCTUnwrap(t.optimizer as? AdamW)
        for v in p.views {
            let range = v.offset..<(v.offset + v.count)
            XCTAssertEqual(try f.floats("model." + v.name), Array(p.values.buffer[range]), v.name)
            XCTAssertEqual(try f.entry("model." + v.name).shape, v.shape)
            XCTAssertEqual(try f.floats("ema." + v.name), Array(ema.params.values.buffer[range]), v.name)
            XCTAssertEqual(try f.floats("optim.m." + v.name), Array(adam.m.buffer[range]), v.name)
            XCTAssertEqual(try f.floats("optim.v." + v.name), Array(adam.v.buffer[range]), v.name)
        }
        XCTAssertNotEqual(try f.floats("ema.head.fc.weight"), try f.floats("model.head.fc.weight"))
        XCTAssertEqual(try f.floats("logit_scale"), [t.logitScale.values.ptr[0]])
        // A fresh trainer restores every tensor and the step.
        let r = try Trainer(config: cfg, comm: InProcessCommunicator.single())
        XCTAssertFalse(TinyRun.values(r) == TinyRun.values(t), "a fresh trainer already has the trained values")
        try r.restore(from: f.path)
        XCTAssertTrue(TinyRun.values(r) == TinyRun.values(t), "restored values differ")
        XCTAssertTrue(r.ema?.params.values.array == ema.params.values.array)
        XCTAssertTrue((r.optimizer as? AdamW)?.m.array == adam.m.array); XCTAssertTrue((r.optimizer as? AdamW)?.v.array == adam.v.array)
        XCTAssertEqual(r.optimizer.step, 5); XCTAssertEqual(r.step, 5)
        XCTAssertEqual(r.logitScale.values.ptr[0], t.logitScale.values.ptr[0])
        // A different model size is refused by tensor name and shape.
        let other = try Trainer(config: try TinyRun.config(manifest: m, out: out, overrides: ["model.preset=swin-t", "frontend.image_width=64",
                                                                                             "model.window=4"]),
                                comm: InProcessCommunicator.single())
        XCTAssertThrowsError(try other.restore(from: f.path)) { XCTAssertTrue("\($0)".contains("has shape"), "\($0)") }
    }

    /// Stopping at a mid-epoch checkpoint and resuming gives bit-identical parameters.
    func testResumeContinuesExactly() throws {
        let m = try TinyRun.data(), out = TestSupport.tempDir("avtrain-resume").path
        let cfg = try TinyRun.config(manifest: m, out: out, overrides: ["train.steps=10", "train.checkpoint_every=6", "train.keep_last=5"])
        let full = try Trainer(config: cfg, comm: InProcessCommunicator.single())
        full.log = { _ in }
        try full.run()
        let ckpt = out + "/step-00000006.safetensors"   // epoch 1, position 2
        let resumedOut = TestSupport.tempDir("avtrain-resume2").path
        let cfg2 = try TinyRun.config(manifest: m, out: resumedOut, overrides: ["train.steps=10", "train.checkpoint_every=6"])
        let resumed = try Trainer(config: cfg2, comm: InProcessCommunicator.single())
        resumed.log = { _ in }
        try resumed.restore(from: ckpt)
        XCTAssertEqual(resumed.step, 6)
        try resumed.run()
        XCTAssertEqual(resumed.history.map(\.step), Array(7...10))
        XCTAssertEqual(resumed.history.map(\.total), full.history.suffix(4).map(\.total))
        XCTAssertTrue(TinyRun.values(resumed) == TinyRun.values(full), "resumed parameters differ")
        XCTAssertEqual(resumed.logitScale.values.ptr[0], full.logitScale.values.ptr[0])
        // Resuming with another global batch is refused (the data order would change).
        let cfg3 = try TinyRun.config(manifest: m, out: resumedOut, overrides: ["data.batch_per_rank=8"])
        XCTAssertThrowsError(try Trainer(config: cfg3, comm: InProcessCommunicator.single()).restore(from: ckpt)) {
            XCTAssertTrue("\($0)".contains("global batch 16"), "\($0)")
        }
    }

    /// Two in-process ranks × 8 clips take the same steps as one rank × 16 (same global batches).
    func testTwoRanksMatchOneRankWithTheGlobalBatch() throws {
        let m = try TinyRun.data(), out = TestSupport.tempDir("avtrain-dist").path
        let steps = ["train.steps=3"]
        let one = try Trainer(config: try TinyRun.config(manifest: m, out: out, overrides: steps), comm: InProcessCommunicator.single())
        one.log = { _ in }
        try one.run()
        let cfg2 = try TinyRun.config(manifest: m, out: out + "/two", overrides: steps + ["data.batch_per_rank=8"])
        let results = try InProcessCommunicator.run(size: 2) { comm -> ([Float], [Float], Float) in
            let t = try Trainer(config: cfg2, comm: comm)
            t.log = { _ in }
            try t.run()
            return (TinyRun.values(t), t.history.map(\.total), t.logitScale.values.ptr[0])
        }
        XCTAssertTrue(results[0].0 == results[1].0, "replicas diverged")
        for (a, b) in zip(results[0].1, one.history.map(\.total)) { XCTAssertEqual(a, b, accuracy: 1e-4 * abs(b)) }
        XCTAssertLessThan(TestSupport.relativeError(results[0].0, TinyRun.values(one)), 1e-4)
        XCTAssertEqual(results[0].2, one.logitScale.values.ptr[0], accuracy: 1e-5)
        // And they moved: the parameters differ from the initial ones.
        let fresh = try Trainer(config: try TinyRun.config(manifest: m, out: out), comm: InProcessCommunicator.single())
        XCTAssertGreaterThan(TestSupport.relativeError(TinyRun.values(one), TinyRun.values(fresh)), 1e-3)
    }

    /// A non-finite gradient skips the update (parameters untouched) and too many in a row stop the run.
    func testNonFiniteStepsAreSkippedThenStop() throws {
        let m = try TinyRun.data(), out = TestSupport.tempDir("avtrain-nan").path
        // A weight near Float's limit: the weighted total (and gradient) overflow while every
        // embedding stays finite, so the objective returns instead of throwing.
        let cfg = try TinyRun.config(manifest: m, out: out, overrides: ["train.max_bad_steps=2", "loss.audio_text=3e38"])
        let t = try Trainer(config: cfg, comm: InProcessCommunicator.single())
        var lines: [String] = []
        t.log = { lines.append($0) }
        let before = TinyRun.values(t)
        let stream = t.loader.epoch(0)
        let s1 = try t.trainStep(try XCTUnwrap(try stream.next()))
        XCTAssertTrue(s1.skipped, "gradient norm \(s1.gradNorm), loss \(s1.total)")
        XCTAssertTrue(TinyRun.values(t) == before, "a skipped step changed parameters")
        XCTAssertEqual(t.optimizer.step, 0); XCTAssertEqual(t.skippedSteps, 1)
        XCTAssertTrue(lines.contains { $0.contains("step 1: skipped") }, lines.joined(separator: "\n"))
        XCTAssertThrowsError(try t.trainStep(try XCTUnwrap(try stream.next()))) {
            XCTAssertTrue("\($0)".contains("2 consecutive steps"), "\($0)")
        }
    }

    func testMissingManifestSaysHowToMakeIt() throws {
        let cfg = try TinyRun.config(manifest: "/nonexistent/train/manifest.json", out: TestSupport.tempDir().path)
        XCTAssertThrowsError(try Trainer(config: cfg, comm: InProcessCommunicator.single())) {
            XCTAssertTrue("\($0)".contains("/nonexistent/train/manifest.json does not exist") && "\($0)".contains("avtool data pack"), "\($0)")
        }
        let bad = try TinyRun.config(manifest: try TinyRun.data(), out: TestSupport.tempDir().path, overrides: ["frontend.sample_rate=16000",
                                                                                                                   "frontend.fmax=8000"])
        XCTAssertThrowsError(try Trainer(config: bad, comm: InProcessCommunicator.single())) {
            XCTAssertTrue("\($0)".contains("frontend.sample_rate") && "\($0)".contains("8000 Hz"), "\($0)")
        }
    }
}
