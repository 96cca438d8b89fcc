import XCTest
import Foundation
import AVTensor
import AVDist
import AVSafetensors
import AVEval
import AVTrain
import TestSupport
import RunFixtures
#if canImport(Glibc)
import Glibc
#endif

/// Runs that repeat bit for bit, resume to the same bytes, and never lose work (in one process;
/// the `mpirun` and out_dir cases are in RunSafetyCommandTests).
final class RunSafetyTests: XCTestCase {
    override func setUp() { Threads.set(1) }

    func config(_ manifest: String, out: String, _ extra: [String] = []) throws -> TrainConfig {
        try TinyRun.config(manifest: manifest, out: out, overrides: ["train.steps=12", "train.checkpoint_every=4", "train.keep_last=5",
                                                                     "loss.momentum_kd=0.5", "train.log_every=1"] + extra)
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func run(_ c: TrainConfig, resume: String? = nil) throws -> [String] {
        var lines: [String] = []
        try TrainJob.run(config: c, start: resume.map { .resume($0 == "latest" ? nil : $0) } ?? .fresh,
                         comm: InProcessCommunicator.single()) { lines.append($0) }
        return lines
    }

    /// Two identical runs write byte-identical checkpoints, and resuming from any of them (with
    /// the EMA teacher on) ends with the bytes of the uninterrupted run.
    func testIdenticalRunsAndResumesAreByteIdentical() throws {
        let m = try TinyRun.data(), out = TestSupport.tempDir("avtrain-det").path
        let c = try config(m, out: out)
        _ = try run(c)
        var first: [Int: Data] = [:]
        for s in [4, 8, 12] { first[s] = try bytes(Checkpoints.path(in: out, step: s)) }
        try FileManager.default.removeItem(atPath: out)
        _ = try run(c)
        for s in [4, 8, 12] { XCTAssertEqual(try bytes(Checkpoints.path(in: out, step: s)), first[s], "second run, step \(s)") }
        for from in [4, 8] {
            try FileManager.default.removeItem(atPath: out)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try first[from]!.write(to: URL(fileURLWithPath: Checkpoints.path(in: out, step: from)))
            let lines = try run(c, resume: "latest")
            XCTAssertTrue(lines.contains("resumed from \(Checkpoints.path(in: out, step: from)) at step \(from)"), lines.joined(separator: "\n"))
            XCTAssertEqual(try bytes(Checkpoints.path(in: out, step: 12)), first[12], "resumed from \(from)")
        }
    }

    /// `latest` skips a damaged newest checkpoint (reported) and resumes from the previous one;
    /// metrics rows after the resumed step are dropped so no step appears twice; stale temp files
    /// of a killed write are removed at start.
    func testResumeSkipsDamagedCheckpointAndTrimsMetrics() throws {
        let m = try TinyRun.data(), out = TestSupport.tempDir("avtrain-damaged").path
        let c = try config(m, out: out, ["train.steps=8"])
        _ = try run(c)
        let newest = Checkpoints.path(in: out, step: 8)
        let full = try bytes(newest)
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: newest))
        try Data("junk".utf8).write(to: URL(fileURLWithPath: out + "/.step-00000009.safetensors.tmp-4242"))
        let c12 = try config(m, out: out)
        let lines = try run(c12, resume: "latest")
        let text = lines.joined(separator: "\n")
        XCTAssertTrue(text.contains("skipping checkpoint \(newest)"), text)
        XCTAssertTrue(text.contains("resumed from \(Checkpoints.path(in: out, step: 4)) at step 4"), text)
        XCTAssertTrue(text.contains("dropped 4 row(s) after step 4"), text)
        XCTAssertTrue(text.contains("removed \(out)/.step-00000009.safetensors.tmp-4242"), text)
        let steps = try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["step"] as? Int
        }
        XCTAssertEqual(steps, Array(1...12))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/.step-00000009.safetensors.tmp-4242"))
    }

    /// Hostile checkpoints: every one is refused with an error naming the file, never a trap.
    func testHostileCheckpoints() throws {
        let m = try TinyRun.data(), out = TestSupport.tempDir("avtrain-hostile-ckpt").path
        let c = try config(m, out: out, ["train.steps=4"])
        _ = try run(c)
        let good = try SafetensorsFile(path: Checkpoints.path(in: out, step: 4))
        let t = try Trainer(config: c, comm: InProcessCommunicator.single())
        func variant(_ name: String, metadata: [String: String?] = [:], drop: String? = nil, reshape: String? = nil,
                     nan: String? = nil) throws -> String {
            var md = good.metadata
            for (k, v) in metadata { md[k] = v }
            var w = SafetensorsWriter(metadata: md)
            for n in good.names where n != drop {
                var v = try good.floats(n)
                if n == nan { v[0] = .nan }
                w.add(n, shape: n == reshape ? [v.count] : try good.entry(n).shape, floats: v)
            }
            let p = out + "/" + name
            try w.write(to: p)
            return p
        }
        let cases: [(String, String)] = [
            (try variant("neg.st", metadata: ["step": "-5"]), "'step'"),
            (try variant("big.st", metadata: ["optimizer_step": "9223372036854775807"]), "'optimizer_step'"),
            (try variant("nan-step.st", metadata: ["step": "four"]), "'step'"),
            (try variant("more-opt.st", metadata: ["optimizer_step": "7"]), "impossible"),
            (try variant("beyond.st", metadata: ["step": "400"]), "beyond this run"),
            (try variant("version.st", metadata: ["format_version": "99"]), "format version 99"),
            (try variant("format.st", metadata: ["format": "something"]), "not an avtrain checkpoint"),
            (try variant("missing.st", drop: "optim.v.layers.0.blocks.0.attn.qkv.weight"), "optim.v.layers.0.blocks.0.attn.qkv.weight missing"),
            (try variant("shape.st", reshape: "model.head.fc.weight"), "model.head.fc.weight has shape"),
            (try variant("nan.st", nan: "model.head.fc.bias"), "non-finite"),
        ]
        for (p, needle) in cases {
            XCTAssertThrowsError(try t.restore(from: p), p) { e in
                XCTAssertTrue("\(e)".contains(p) && "\(e)".contains(needle), "\(e)")
            }
        }
        let data = try bytes(good.path)
        for cut in [0, 7, 8, 100, data.count / 3, data.count - 1] {
            let p = out + "/cut-\(cut).st"
            try data.prefix(cut).write(to: URL(fileURLWithPath: p))
            XCTAssertThrowsError(try t.restore(from: p)) { XCTAssertTrue("\($0)".contains(p), "\($0)") }
        }
        XCTAssertNoThrow(try t.restore(from: good.path))
        XCTAssertEqual(t.step, 4)
    }

    /// The stored TOML config reads back as the same config (threads resolved).
    func testCheckpointStoresResolvedTOMLConfig() throws {
        let m = try TinyRun.data(), out = TestSupport.tempDir("avtrain-toml").path
        let c = try config(m, out: out, ["train.steps=4", "optim.lr=0.0031", "frontend.norm_std=17.5", "train.threads=0"])
        _ = try run(c)
        let f = try SafetensorsFile(path: Checkpoints.path(in: out, step: 4))
        let toml = try XCTUnwrap(f.metadata["config_toml"])
        var back = try TrainConfig.parse(toml, file: "stored.toml")
        XCTAssertEqual(back.train.threads, Threads.count, "the threads actually used")
        XCTAssertTrue(toml.contains("embed_dim 16") && toml.contains("parameters"), toml)
        back.train.threads = 0
        back.origins = c.origins
        XCTAssertEqual(back, c)
    }

    /// Metrics that cannot be written are an error naming the file.
    func testMetricsWriteFailureIsAnError() {
        XCTAssertThrowsError(try MetricsLog(path: "/dev/full").append(["step": 1])) { XCTAssertTrue("\($0)".contains("/dev/full"), "\($0)") }
    }
}
