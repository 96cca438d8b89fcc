import XCTest
import Foundation
import AVTrain
import AVSafetensors
import TestSupport
import RunFixtures

/// The built `avtrain` executable: under a real `mpirun -n 2`, alone with --resume, and on a bad config.
final class AvtrainCommandTests: XCTestCase {
    var avtrain: String { get throws { try TestSupport.executable("avtrain") } }

    func writeConfig(extra: String = "") throws -> (config: String, out: String) {
        let dir = TestSupport.tempDir("avtrain-cli")
        let out = dir.appendingPathComponent("run").path
        let config = dir.appendingPathComponent("tiny.toml").path
        try (TinyRun.toml(manifest: try TinyRun.data(), out: out) + extra).write(toFile: config, atomically: true, encoding: .utf8)
        return (config, out)
    }

    func testTwoRanksUnderMpirunThenResume() throws {
        let mpirun = try XCTUnwrap(TestSupport.mpirun, "mpirun not installed (Launch/setup.sh installs openmpi-bin)")
        let avtrain = try avtrain
        let (config, out) = try writeConfig()
        let (status, text) = try TestSupport.run(mpirun, ["-n", "2", avtrain, "--config", config, "--set", "data.batch_per_rank=8",
                                                          "--set", "train.steps=6", "--set", "train.log_every=3"], env: TestSupport.mpiEnv)
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("2 rank(s) × batch 8 = global batch 16"), text)
        XCTAssertEqual(text.components(separatedBy: "step 6/6 epoch 2 | loss ").count, 2, "rank 0 alone prints progress: \(text)")
        XCTAssertTrue(text.contains("step 3/6 epoch 1 | loss "), text)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/step-00000006.safetensors"), text)
        XCTAssertEqual(try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").count, 3)
        // Alone, two more steps from the latest checkpoint (same global batch: 1 × 16).
        let (s2, t2) = try TestSupport.run(avtrain, ["--config", config, "--set", "train.steps=8", "--set", "train.log_every=1",
                                                     "--resume", "latest"])
        XCTAssertEqual(s2, 0, t2)
        XCTAssertTrue(t2.contains("resumed from \(out)/step-00000006.safetensors at step 6"), t2)
        XCTAssertTrue(t2.contains("step 7/8 epoch 2") && t2.contains("step 8/8 epoch 2"), t2)
        XCTAssertFalse(t2.contains("step 6/8"), t2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/step-00000008.safetensors"), t2)
    }

    /// Periodic zero-shot under `mpirun -n 2`: rank 0 evaluates (one line per evaluation), the
    /// other rank waits at the barrier, the run ends with the best/last summary.
    func testTwoRanksWithPeriodicEval() throws {
        let mpirun = try XCTUnwrap(TestSupport.mpirun, "mpirun not installed (Launch/setup.sh installs openmpi-bin)")
        let data = try TinyRun.data()
        let root = URL(fileURLWithPath: data).deletingLastPathComponent().deletingLastPathComponent()
        let dir = TestSupport.tempDir("avtrain-cli-eval")
        let config = dir.appendingPathComponent("tiny.toml").path
        try (TinyRun.toml(manifest: data, out: dir.appendingPathComponent("run").path) + """

            [eval]
            manifest = "\(root.appendingPathComponent("eval").path)"
            classes = "\(root.appendingPathComponent("class_embeddings.safetensors").path)"
            every = 3
            """).write(toFile: config, atomically: true, encoding: .utf8)
        let (status, text) = try TestSupport.run(mpirun, ["-n", "2", avtrain, "--config", config, "--set", "data.batch_per_rank=8",
                                                          "--set", "train.steps=6"], env: TestSupport.mpiEnv)
        XCTAssertEqual(status, 0, text)
        XCTAssertEqual(text.components(separatedBy: "eval step 3: zero-shot top-1").count, 2, text)
        XCTAssertEqual(text.components(separatedBy: "eval step 6: zero-shot top-1").count, 2, text)
        XCTAssertTrue(text.contains("(chance 25.0 %) on 8 shards clips"), text)
        XCTAssertTrue(text.contains("summary (done): 6/6 steps") && text.contains("zero-shot top-1 best"), text)
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("run/summary.json")))
                                    as? [String: Any])
        XCTAssertEqual(summary["status"] as? String, "done"); XCTAssertEqual(summary["steps"] as? Int, 6)
        XCTAssertEqual(summary["world_size"] as? Int, 2); XCTAssertEqual(summary["global_batch"] as? Int, 16)
        XCTAssertEqual(((summary["zero_shot"] as? [String: Any])?["last"] as? [String: Any])?["step"] as? Int, 6)
        XCTAssertNotNil((summary["best_loss"] as? [String: Any])?["loss"] as? Double)
    }

    /// Overlapped (tiny buckets, started during backward) and after-backward all-reduce give the
    /// same bytes under `mpirun -n 2`.
    func testOverlappedAllReduceGivesTheSameBytes() throws {
        let mpirun = try XCTUnwrap(TestSupport.mpirun, "mpirun not installed (Launch/setup.sh installs openmpi-bin)")
        var results: [Data] = []
        let (config, out) = try writeConfig()
        for overlap in ["true", "false"] {
            try? FileManager.default.removeItem(atPath: out)
            let (status, text) = try TestSupport.run(mpirun, ["-n", "2", avtrain, "--config", config, "--set", "data.batch_per_rank=8",
                                                              "--set", "train.steps=4", "--set", "dist.overlap=\(overlap)",
                                                              "--set", "dist.bucket_mb=0.01"], env: TestSupport.mpiEnv)
            XCTAssertEqual(status, 0, text)
            XCTAssertTrue(text.contains(overlap == "true" ? "(overlapped)" : "(after backward)"), text)
            let f = try SafetensorsFile(path: out + "/step-00000004.safetensors")
            results.append(Data(try f.names.flatMap { try f.rawBytes($0) }))
        }
        XCTAssertEqual(results[0], results[1])
    }

    /// Launch mistakes stop every rank with one message from rank 0: srun without PMI, no data.
    func testLaunchMistakesAreSaidOnce() throws {
        let (config, _) = try writeConfig()
        for (rank, expectMessage) in [("0", true), ("3", false)] {
            let (status, text) = try TestSupport.run(avtrain, ["--config", config], env: ["SLURM_NTASKS": "4", "SLURM_PROCID": rank])
            XCTAssertEqual(status, 1, text)
            XCTAssertEqual(text.contains("srun --mpi=pmix"), expectMessage, text)
        }
        let (status, text) = try TestSupport.run(avtrain, ["--config", config, "--set", "data.train_manifest=/nowhere/vggsound/train/manifest.json"])
        XCTAssertEqual(status, 1, text)
        XCTAssertTrue(text.contains("training data not found: [data] train_manifest = /nowhere/vggsound/train/manifest.json")
                      && text.contains("avtool data pack"), text)
        let (s2, t2) = try TestSupport.run(avtrain, ["--config", config, "--set", "data.train_manifest=/nowhere/vggsound/train/manifest.json",
                                                     "--set", "data.synth_if_missing=true"])
        XCTAssertEqual(s2, 1, t2)
        XCTAssertTrue(t2.contains("data.synth_if_missing: builds the demo set"), t2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/nowhere"))
    }

    func testBadConfigNamesFileLineAndKey() throws {
        let (config, _) = try writeConfig(extra: "bogus_key = 3\n")
        let (status, text) = try TestSupport.run(avtrain, ["--config", config])
        XCTAssertEqual(status, 1, text)
        let line = try String(contentsOfFile: config, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.hasPrefix("bogus_key") }! + 1
        XCTAssertTrue(text.contains("\(config):\(line): train.bogus_key: unknown key"), text)
        let (good, _) = try writeConfig()
        let (s2, t2) = try TestSupport.run(avtrain, ["--config", good, "--set", "optim.lr=fast"])
        XCTAssertEqual(s2, 1, t2)
        XCTAssertTrue(t2.contains("--set: optim.lr: expected number, got string"), t2)
        let (s3, t3) = try TestSupport.run(avtrain, [])
        XCTAssertEqual(s3, 2, t3)
        XCTAssertTrue(t3.contains("Missing expected argument '--config <config>'"), t3)
    }
}
