import XCTest
import Foundation
import AVTensor
import AVAudio
import AVModel
import AVData
import AVSafetensors
import AVEval
import AVTrain
import TestSupport
import RunFixtures

/// Train → checkpoint → export → avembed / zero-shot / probe / retrieval, on tiny data, each
/// result checked against values computed here by a separate path (the model's own forward).
final class EvalEndToEndTests: XCTestCase {
    override func setUp() { Threads.set(1) }

    /// The trained model's embedding of `wave` (one window), straight from the training model.
    func reference(_ model: SwinEncoder, _ fe: FrontEnd, _ wave: [Float]) -> [Float] {
        var rng = Rng(seed: 0)
        let img = fe.image(waveform: wave, training: false, rng: &rng)
        let out = img.withUnsafeBufferPointer { model.forward(input: $0.baseAddress!, batch: 1, training: false, rng: &rng) }
        return Array(UnsafeBufferPointer(start: out, count: model.config.embeddingSize))
    }

    func avembedJSON(_ args: [String]) throws -> [(file: String, embedding: [Float])] {
        let (status, text) = try TestSupport.run(try TestSupport.executable("avembed"), args)
        XCTAssertEqual(status, 0, text)
        let start = try XCTUnwrap(text.firstIndex(of: "["), text)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text[start...].utf8)) as? [[String: Any]])
        return json.map { ($0["file"] as? String ?? "", ($0["embedding"] as? [Double] ?? []).map(Float.init)) }
    }

    /// Export (live and EMA) and avembed on a WAV of an eval clip give the training model's
    /// embedding to 1e-5; so does avembed reading the checkpoint directly. The periodic
    /// evaluation ran (every 4 steps and at the end) and logged its accuracy.
    func testExportRoundTripAndAvembed() throws {
        let run = try EvalFixtures.train(momentum: true)
        let t = run.trainer
        XCTAssertEqual(t.evalSummary?.last.step, 8)
        let metrics = try String(contentsOfFile: run.out + "/metrics.jsonl", encoding: .utf8)
        XCTAssertEqual(metrics.components(separatedBy: "eval_top1").count - 1, 2, "evaluations at steps 4 and 8")

        let shard = try Shard(path: run.data.eval.shardPath(0))
        let wave = try shard.waveforms(start: 3, rows: 1).map { Float($0) / 32768 }
        let wav = TestSupport.tempDir("aveval-wav").appendingPathComponent("clip.wav").path
        try AudioFile.write(wav, samples: wave, sampleRate: 8000)
        let fe = try FrontEnd(t.config.frontend)

        for ema in [false, true] {
            let model = ema ? try XCTUnwrap(t.ema) : t.model
            let expected = reference(model, fe, wave)
            let dir = TestSupport.tempDir("aveval-export").path
            let spec = try EncoderExport.write(try EncoderWeights.open(run.out, ema: ema), to: dir, classes: run.data.classEmbeddingsPath)
            XCTAssertEqual(spec.source.ema, ema)
            XCTAssertEqual(spec.source.step, 8)
            XCTAssertEqual(spec.embeddingDim, 16)
            // encoder.safetensors holds exactly the timm names of the model.
            let f = try SafetensorsFile(path: dir + "/encoder.safetensors")
            XCTAssertEqual(Set(f.names), Set(model.params.views.map(\.name)))
            XCTAssertTrue(f.names.contains("head.fc.weight") && f.names.contains("patch_embed.proj.weight"))

            let viaExport = try avembedJSON(["--model", dir, "--threads", "1", wav])
            XCTAssertEqual(viaExport.count, 1)
            XCTAssertLessThan(TestSupport.relativeError(viaExport[0].embedding, expected), 1e-5, "export, ema \(ema)")
            let viaCheckpoint = try avembedJSON(["--model", run.out, "--threads", "1", wav] + (ema ? ["--ema"] : []))
            XCTAssertLessThan(TestSupport.relativeError(viaCheckpoint[0].embedding, expected), 1e-5, "checkpoint, ema \(ema)")
        }
        XCTAssertGreaterThan(TestSupport.relativeError(reference(t.model, fe, wave), reference(try XCTUnwrap(t.ema), fe, wave)), 1e-4,
                             "EMA and live weights differ, so the two checks are distinct")
    }

    /// Zero-shot on ESC-50 and US8K layouts (mixed rates/channels, a corrupt and a missing file)
    /// against accuracies recomputed here: decode, resample, windows, the model's forward, cosine.
    func testZeroShotOnOfficialLayoutsMatchesIndependentComputation() throws {
        let run = try EvalFixtures.train(momentum: false)
        let w = try EncoderWeights.open(run.out)
        let embedder = try AudioEmbedder(weights: w, batch: 3)
        let classes = try ClassEmbeddings.load(run.data.classEmbeddingsPath)
        let fe = try FrontEnd(w.spec.frontend)
        let model = run.trainer.model

        for (root, kind) in [(try EvalFixtures.esc50(), "esc50"), (try EvalFixtures.us8k(bad: true), "us8k")] {
            let set = kind == "esc50" ? try OfficialLayouts.esc50(root: root) : try OfficialLayouts.us8k(root: root)
            XCTAssertEqual(set.classNames, EvalFixtures.names)
            let r = try ZeroShot.evaluate(set, embedder: embedder, classes: classes)
            XCTAssertEqual(r.skipped.count, kind == "us8k" ? 2 : 0, "\(r.skipped)")
            // Independent: every readable file decoded, mixed to mono, resampled, cut into windows.
            var correct = 0, total = 0, perFold: [Int: (Int, Int)] = [:]
            for it in set.items {
                guard let d = try? AudioFile.read(it.name) else { continue }
                let x = try Resampler.resample(d.mono(), from: d.sampleRate, to: 8000)
                var starts = [0]
                if x.count > 4000 { starts = Array(stride(from: 0, to: x.count - 4000, by: 2000)) + [x.count - 4000] }
                var e = [Float](repeating: 0, count: 16)
                for s in starts {
                    let win = x.count > 4000 ? Array(x[s..<(s + 4000)]) : x
                    for (j, v) in reference(model, fe, win).enumerated() { e[j] += v / Float(starts.count) }
                }
                let norm = e.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let cos = (0..<4).map { c in (0..<16).reduce(Float(0)) { $0 + e[$1] / norm * classes.rows[c * 16 + $1] } }
                let pred = cos.indices.max { cos[$0] < cos[$1] }!
                total += 1
                let ok = pred == it.label ? 1 : 0
                correct += ok
                perFold[it.fold, default: (0, 0)].0 += ok
                perFold[it.fold, default: (0, 0)].1 += 1
            }
            XCTAssertEqual(r.overall.clips, total)
            XCTAssertEqual(r.overall.top1, Double(correct) / Double(total), accuracy: 1e-12, kind)
            XCTAssertEqual(r.overall.top5, 1, "4 classes: the true class is always in the top 5")
            for (f, (c, n)) in perFold { XCTAssertEqual(r.perFold[f]?.top1 ?? -1, Double(c) / Double(n), accuracy: 1e-12, "\(kind) fold \(f)") }
            XCTAssertEqual(r.confusion.joined().reduce(0, +), total)
            XCTAssertEqual((0..<4).map { r.confusion[$0][$0] }.reduce(0, +), correct)
        }
    }

    /// The avtool commands end to end: zeroshot writes its four files with the printed accuracy,
    /// the probe writes and then reuses its cache, retrieval reports four directions.
    func testAvtoolEvalCommands() throws {
        let run = try EvalFixtures.train(momentum: false)
        let avtool = try TestSupport.executable("avtool")
        let us8k = try EvalFixtures.us8k(bad: false)
        let out = TestSupport.tempDir("aveval-out").path
        var (status, text) = try TestSupport.run(avtool, ["eval", "zeroshot", "--checkpoint", run.out, "--dataset", "us8k", "--root", us8k,
                                                          "--classes", run.data.classEmbeddingsPath, "--out", out, "--threads", "1"])
        XCTAssertEqual(status, 0, text)
        for f in ["summary.json", "predictions.csv", "confusion.csv", "confusion.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + f), f)
        }
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/summary.json"))) as? [String: Any])
        XCTAssertEqual(summary["clips"] as? Int, 12)
        XCTAssertEqual((summary["per_fold"] as? [String: Any])?.count, 3)
        XCTAssertTrue(text.contains(String(format: "top-1 %.2f %%", 100 * (summary["top1"] as? Double ?? -1))), text)
        let csv = try String(contentsOfFile: out + "/predictions.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "file,fold,true,predicted,score,top5")
        XCTAssertEqual(csv.count, 13)
        let svg = try String(contentsOfFile: out + "/confusion.svg", encoding: .utf8)
        for n in EvalFixtures.names { XCTAssertTrue(svg.contains(">\(n)<"), "class name \(n) in the picture") }

        let cache = out + "/probe-cache.safetensors"
        let probeArgs = ["eval", "probe", "--model", run.out, "--dataset", "us8k", "--root", us8k, "--cache", cache,
                         "--out", out + "/probe.json", "--threads", "1"]
        (status, text) = try TestSupport.run(avtool, probeArgs)
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("linear probe us8k (3 folds, 12 clips"), text)
        XCTAssertTrue(FileManager.default.fileExists(atPath: cache))
        (status, text) = try TestSupport.run(avtool, probeArgs)
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("using cached embeddings"), text)

        (status, text) = try TestSupport.run(avtool, ["eval", "retrieval", "--model", run.out, "--root", run.data.evalManifestPath,
                                                      "--out", out + "/retrieval.json", "--threads", "1"])
        XCTAssertEqual(status, 0, text)
        for d in ["audio→image", "image→audio", "audio→text", "text→audio"] { XCTAssertTrue(text.contains(d), text) }
        XCTAssertTrue(text.contains("retrieval on 16 clips"), text)
    }
}
