import XCTest
import Foundation
import AVSafetensors
import AVEval
import AVTrain
import TestSupport
import RunFixtures
#if canImport(Glibc)
import Glibc
#endif

/// The built `avtrain` against signals, concurrent runs, unwritable and full out_dirs, and a
/// generated set of hostile configs.
final class RunSafetyCommandTests: XCTestCase {
    var avtrain: String { get throws { try TestSupport.executable("avtrain") } }

    func writeConfig(_ out: String, steps: Int, extra: String = "") throws -> String {
        let config = TestSupport.tempDir("avtrain-safety-cfg").appendingPathComponent("tiny.toml").path
        try (TinyRun.toml(manifest: try TinyRun.data(), out: out) + extra)
            .replacingOccurrences(of: "steps = 40", with: "steps = \(steps)")
            .write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    /// `mpirun -n 2`: SIGTERM to both ranks mid-run → they agree on a step, write a checkpoint and
    /// exit 3; `--resume latest` ends with the bytes of the uninterrupted run; two uninterrupted
    /// runs give the same bytes.
    func testSigtermUnderMpirunThenResumeGivesTheSameBytes() throws {
        let mpirun = try XCTUnwrap(TestSupport.mpirun, "mpirun not installed (Launch/setup.sh installs openmpi-bin)")
        let out = TestSupport.tempDir("avtrain-sig").path + "/run"
        let steps = 400
        let config = try writeConfig(out, steps: steps)
        let args = ["-n", "2", try avtrain, "--config", config, "--set", "data.batch_per_rank=8", "--set", "train.threads=1",
                    "--set", "loss.momentum_kd=0.5", "--set", "train.checkpoint_every=0", "--set", "train.log_every=5"]
        let final = Checkpoints.path(in: out, step: steps)
        var (status, text) = try TestSupport.run(mpirun, args, env: TestSupport.mpiEnv)
        XCTAssertEqual(status, 0, text)
        let reference = try Data(contentsOf: URL(fileURLWithPath: final))
        try FileManager.default.removeItem(atPath: out)
        (status, text) = try TestSupport.run(mpirun, args, env: TestSupport.mpiEnv)
        XCTAssertEqual(status, 0, text)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: final)), reference, "two identical 2-rank runs")
        try FileManager.default.removeItem(atPath: out)

        let p = try LiveProcess(mpirun, args, env: TestSupport.mpiEnv)
        XCTAssertTrue(p.wait(for: "step 20/", timeout: 60), p.output)
        let ranks = p.children()
        XCTAssertEqual(ranks.count, 2, "ranks of mpirun: \(ranks)")
        for r in ranks { kill(r, SIGTERM) }
        XCTAssertEqual(p.finish(timeout: 60), StopRequest.exitStatus, p.output)
        XCTAssertTrue(p.output.contains("stopped by SIGTERM after step"), p.output)
        let saved = Checkpoints.list(in: out)
        XCTAssertEqual(saved.count, 1, "\(saved)")
        XCTAssertNotEqual(saved.first, final, "stopped before the end")
        (status, text) = try TestSupport.run(mpirun, args + ["--resume", "latest"], env: TestSupport.mpiEnv)
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("resumed from \(saved[0])"), text)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: final)), reference, "SIGTERM + resume vs uninterrupted")
    }

    /// An out_dir that cannot be created or written is found before the first step; a second run
    /// into a live run's out_dir is refused naming the holder; a dead run's lock is taken over.
    func testOutDirIsClaimedBeforeTheFirstStep() throws {
        let dir = TestSupport.tempDir("avtrain-outdir").path
        let file = dir + "/not-a-folder"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        var config = try writeConfig(file, steps: 3)
        var (status, text) = try TestSupport.run(avtrain, ["--config", config])
        XCTAssertEqual(status, 1, text)
        XCTAssertTrue(text.contains(file) && text.contains("cannot create"), text)
        XCTAssertFalse(text.contains("step 1/"), text)

        let ro = dir + "/ro"
        try FileManager.default.createDirectory(atPath: ro, withIntermediateDirectories: true)
        let mounted = getuid() == 0 && TestSupport.run0("/bin/mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", ro])
        if !mounted { chmod(ro, 0o555) }
        defer { if mounted { _ = TestSupport.run0("/bin/umount", [ro]) } }
        if mounted || getuid() != 0 {
            config = try writeConfig(ro, steps: 3)
            (status, text) = try TestSupport.run(avtrain, ["--config", config])
            XCTAssertEqual(status, 1, text)
            XCTAssertTrue(text.contains("out_dir \(ro) is not writable"), text)
        } else {
            print("RunSafetyCommandTests: read-only out_dir not checked: root without mount permission")
        }

        let out = dir + "/shared"
        config = try writeConfig(out, steps: 100_000)
        let a = try LiveProcess(avtrain, ["--config", config])
        XCTAssertTrue(a.wait(for: "step 1/", timeout: 60), a.output)
        (status, text) = try TestSupport.run(avtrain, ["--config", config, "--set", "train.steps=2"])
        XCTAssertEqual(status, 1, text)
        XCTAssertTrue(text.contains("out_dir \(out) is in use by another run (pid \(a.process.processIdentifier) on host"), text)
        kill(a.process.processIdentifier, SIGKILL)
        _ = a.finish(timeout: 30)
        (status, text) = try TestSupport.run(avtrain, ["--config", config, "--set", "train.steps=2"])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("taking over the lock of a run that is gone (pid \(a.process.processIdentifier)"), text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/" + RunDirectory.lockName), "released at the end")
    }

    /// A disk that fills: the failed checkpoint is an error naming it, the previous checkpoint
    /// stays valid, metrics.jsonl holds only whole lines.
    func testFullDiskKeepsThePreviousCheckpoint() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to mount a small tmpfs") }
        let dir = TestSupport.tempDir("avtrain-full").path
        let probeConfig = try writeConfig(dir + "/probe", steps: 1)
        var (status, text) = try TestSupport.run(avtrain, ["--config", probeConfig])
        XCTAssertEqual(status, 0, text)
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: Checkpoints.path(in: dir + "/probe", step: 1))[.size] as? Int)
        let out = dir + "/small"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        guard TestSupport.run0("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size * 3 / 2 / 4096 * 4096 + 8192)", "tmpfs", out]) else {
            throw XCTSkip("mount -t tmpfs failed here")
        }
        defer { _ = TestSupport.run0("/bin/umount", [out]) }
        let config = try writeConfig(out, steps: 6, extra: "checkpoint_every = 2\nkeep_last = 3\n")
        (status, text) = try TestSupport.run(avtrain, ["--config", config, "--set", "train.log_every=1"])
        XCTAssertEqual(status, 1, text)
        XCTAssertTrue(text.contains("checkpoint \(Checkpoints.path(in: out, step: 4)) could not be written"), text)
        XCTAssertTrue(text.contains("the previous checkpoints are kept"), text)
        XCTAssertEqual(Checkpoints.list(in: out), [Checkpoints.path(in: out, step: 2)])
        XCTAssertNoThrow(try SafetensorsFile(path: Checkpoints.path(in: out, step: 2)))
        for line in try String(contentsOfFile: out + "/metrics.jsonl", encoding: .utf8).split(separator: "\n") {
            XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(line.utf8)), "half a line: \(line)")
        }
    }

    /// A generated set of hostile configs: every key with wrong types and extreme values, parsed
    /// in-process (an error naming the key, or acceptance — never a trap); and the cases that once
    /// crashed or hung, run through the binary with --dry-run under a time limit.
    func testHostileConfigs() throws {
        var section = "", paths: [String] = []
        for l in try TrainConfig.parse("", file: "x").tomlText().split(separator: "\n") {
            if l.hasPrefix("[") { section = String(l.dropFirst().dropLast()) } else if l.contains(" = ") { paths.append(section + "." + l.split(separator: " ")[0]) }
        }
        XCTAssertGreaterThan(paths.count, 50)
        let values = ["-1", "0", "9223372036854775807", "-9223372036854775808", "1e30", "-1e30", "nan", "inf", "-inf", "\"\"",
                      "\"\(String(repeating: "x", count: 5000))\"", "true", "[]", "[1, \"a\"]", "{ a = 1 }", "1979-05-27"]
        var accepted = 0, refused = 0
        for path in paths {
            for v in values {
                do {
                    _ = try TrainConfig.parse("", file: "h.toml", overrides: ["\(path)=\(v)"])
                    accepted += 1
                } catch let e as ConfigError {
                    refused += 1
                    XCTAssertFalse(e.reason.isEmpty, "\(path)=\(v.prefix(20))")
                }
            }
        }
        XCTAssertGreaterThan(refused, 2 * accepted, "most extreme values are refused")

        let dir = TestSupport.tempDir("avtrain-hostile-cfg").path
        let base = try writeConfig(dir + "/run", steps: 2)
        let baseText = try String(contentsOfFile: base, encoding: .utf8)
        let cases: [(String, String, String, String)] = [
            ("[train]", "epochs = 9223372036854775807\nsteps = 0", "train.epochs", "1000000"),
            ("[frontend]", "image_width = 100000000", "frontend.image_width", "8192"),
            ("[frontend]", "freq_masks = 100000000", "frontend.freq_masks", "n_mels"),
            ("[data]", "workers = 100000", "data.workers", "256"),
            ("[model]", "window = 1000", "model.window", "patch grid"),
            ("[frontend]", "n_mels = 400", "frontend.n_mels", "frequency bins"),
            ("[frontend]", "clip_samples = 8000", "frontend.clip_samples", "padded"),
            ("[optim]", "eps = inf", "optim.eps", "finite"),
            ("[data]", "batch_per_rank = 60000", "data.batch_per_rank", "exceeds"),
            ("", "[optim]\nlr = 1e-3", "", "redefin"),
        ]
        for (i, (section, body, key, needle)) in cases.enumerated() {
            // Keys go into the existing section, replacing a key of the same name.
            var lines = baseText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let names = Set(body.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
            lines.removeAll { l in names.contains(where: { l.hasPrefix($0 + " =") }) && !section.isEmpty }
            if let at = lines.firstIndex(of: section), !section.isEmpty { lines.insert(body, at: at + 1) } else { lines.append(body) }
            let path = dir + "/case\(i).toml"
            try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let p = try LiveProcess(avtrain, ["--config", path, "--dry-run"])
            let status = p.finish(timeout: 60)
            XCTAssertEqual(status, 1, "\(body): \(p.output)")
            XCTAssertTrue((key.isEmpty || p.output.contains(key)) && p.output.contains(needle), "\(body): \(p.output)")
        }
        // CRLF is honoured (it once trained on defaults).
        let crlf = dir + "/crlf.toml"
        try baseText.replacingOccurrences(of: "\n", with: "\r\n").write(toFile: crlf, atomically: true, encoding: .utf8)
        let (status, text) = try TestSupport.run(avtrain, ["--config", crlf, "--dry-run"])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("model tiny [32, 32] → 16") && text.contains("out \(dir)/run"), text)
    }
}

extension TestSupport {
    /// Runs a command, true if it exited 0 (output discarded).
    static func run0(_ path: String, _ args: [String]) -> Bool {
        (try? TestSupport.run(path, args))?.0 == 0
    }
}
