import Foundation
import ArgumentParser
import AVTensor
import AVAudio
import AVModel
import AVEval
#if canImport(Glibc)
import Glibc
#endif

/// `avtool bench embed`: avembed's cold start, steady per-clip time at batch 1 and N, peak RSS;
/// with `--compare`, the same figures for PyTorch/timm on the same exported encoder
/// (`bench/reference/embed_timm.py`) in the same run.
struct BenchEmbed: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "embed",
        abstract: "avembed cold start, per-clip time (batch 1 and --batch) and peak RSS, optionally next to PyTorch/timm.")

    @Option(help: "Export folder to time (default: a random-weight export of --preset with the 16 kHz front-end, 10.23 s clips).")
    var model: String?
    @Option(help: "Preset for the random-weight export.") var preset = "swin-t"
    @Option(help: "Clip length in seconds (16 kHz mono WAV files).") var seconds = 10.0
    @Option(help: "Clips per timed run, and the large batch.") var batch = 16
    @Option(help: "Threads.") var threads = 2
    @Option(help: "Repetitions (best is reported).") var repeats = 3
    @OptionGroup var reference: PyTorchComparison

    func validate() throws {
        guard (1...256).contains(batch), (1...64).contains(threads), (1...20).contains(repeats) else {
            throw ValidationError("--batch 1...256, --threads 1...64, --repeats 1...20")
        }
        guard seconds.isFinite, seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        if model == nil { try checkPreset(preset) }
    }

    func run() throws {
        Threads.set(threads)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("avtrain-bench-embed-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let exportDir = try model ?? makeRandomExport(in: work + "/encoder")
        let weights = try EncoderWeights.open(exportDir)
        var files: [String] = []
        for i in 0..<batch {
            var rng = Rng(seed: UInt64(i))
            let n = Int(seconds * 16000)
            let x = (0..<n).map { j in 0.3 * sinf(Float(j) * 0.01 * Float(i + 1)) + 0.05 * rng.normal() }
            files.append(work + "/clip\(i).wav")
            try AudioFile.write(files[i], samples: x, sampleRate: 16000)
        }
        let s = weights.spec
        print("cpu: \(cpuModel()); BLAS core \(BLAS.coreName); \(threads) thread(s)")
        print("model: \(s.model.depths.count)-stage Swin dim \(s.model.embedDim) depths \(s.model.depths) input \(s.model.imageSize) → \(s.embeddingDim); "
              + "clip \(String(format: "%.2f", Double(s.frontend.clipSamples) / Double(s.frontend.sampleRate))) s; test clips \(seconds) s at 16 kHz")

        // Cold start and peak RSS: the avembed executable itself, one process per run.
        let avembed = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("avembed").path
        func spawnBest(_ args: [String]) throws -> (Double, Int) {
            var best = (Double.infinity, 0)
            for _ in 0..<repeats {
                let r = try spawnMeasured(avembed, ["--model", exportDir, "--threads", "\(threads)", "--out", work + "/out.json"] + args)
                best = (min(best.0, r.seconds), max(best.1, r.maxRSSKiB))
            }
            return best
        }
        let cold = try spawnBest(["--batch", "1", files[0]])
        let coldN = try spawnBest(["--batch", "\(batch)"] + files)

        // Steady state: in-process, decode + log-mel + forward, after a warm-up.
        func steady(_ b: Int) throws -> Double {
            let e = try AudioEmbedder(weights: weights, batch: b)
            let rate = e.frontEnd.config.sampleRate
            _ = e.embed(count: min(b, files.count), concurrentLoad: true) { try AudioDecoder.load(files[$0], sampleRate: rate) }
            var best = Double.infinity
            for _ in 0..<repeats {
                let w = Stopwatch()
                _ = e.embed(count: files.count, concurrentLoad: true) { try AudioDecoder.load(files[$0], sampleRate: rate) }
                best = min(best, w.seconds / Double(files.count))
            }
            return best
        }
        let per1 = try steady(1), perN = try steady(batch)
        print("figure                              avembed")
        print(String(format: "cold start → first embedding (s)   %7.3f", cold.0))
        print(String(format: "per clip, batch 1 (ms)             %7.1f", 1000 * per1))
        print(String(format: "per clip, batch %-3d (ms)           %7.1f", batch, 1000 * perN))
        print(String(format: "peak RSS, 1 clip batch 1 (MB)      %7.1f", Double(cold.1) / 1024))
        print(String(format: "peak RSS, %d clips batch %d (MB)   %7.1f", batch, batch, Double(coldN.1) / 1024))
        if reference.compare { try comparePyTorch(exportDir: exportDir, ours: (cold.0, per1, perN, Double(cold.1) / 1024)) }
    }

    func comparePyTorch(exportDir: String, ours: (Double, Double, Double, Double)) throws {
        guard let r = try runReference("embed_timm.py", ["--model", exportDir, "--batch", "\(batch)", "--threads", "\(threads)",
                                                          "--repeats", "\(repeats)"]),
              let cold = r["cold_start_s"], let b1 = r["per_clip_batch1_s"], let bn = r["per_clip_batchN_s"], let rss = r["peak_rss_mb"] else { return }
        print("figure                              avembed   PyTorch   ratio (PyTorch / avembed)")
        for (name, a, b) in [("cold start (s)", ours.0, cold), ("per clip, batch 1 (ms)", 1000 * ours.1, 1000 * b1),
                             ("per clip, batch \(batch) (ms)", 1000 * ours.2, 1000 * bn), ("peak RSS, batch 1 (MB)", ours.3, rss)] {
            print(String(format: "%@ %9.3f %9.3f   %6.2f×", name.padding(toLength: 34, withPad: " ", startingAt: 0), a, b, b / a))
        }
    }

    /// A random-weight export of `preset` with the default 16 kHz front-end.
    func makeRandomExport(in dir: String) throws -> String {
        guard var cfg = SwinConfig.preset(preset) else { throw ValidationError("unknown preset '\(preset)'") }
        let fe = FrontEndConfig.default16k
        cfg.imageSize = [fe.imageHeight, fe.imageWidth]
        let enc = try SwinEncoder(config: cfg, batch: 1, forwardOnly: true)
        enc.initialize(seed: 1)
        let spec = EncoderSpec(model: cfg, frontend: fe, source: .init(checkpoint: "", step: 0, ema: false))
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try EncoderExport.write(tensors: enc.timmTensors(), spec: spec, to: dir)
        return dir
    }
}

/// Runs avembed (`path args --stats`) with stdout to /dev/null; returns its wall time from spawn to
/// exit and its own peak RSS (VmHWM, which `--stats` prints: wait4's ru_maxrss would include this
/// parent's memory, since posix_spawn execs from a vfork that shares it).
func spawnMeasured(_ path: String, _ args: [String]) throws -> (seconds: Double, maxRSSKiB: Int) {
    var pid = pid_t()
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("avembed-stats-\(getpid()).txt").path
    defer { try? FileManager.default.removeItem(atPath: log) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    let args = args + ["--stats"]
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    let watch = Stopwatch()
    guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { throw ValidationError("cannot start \(path)") }
    var status: Int32 = 0
    _ = waitpid(pid, &status, 0)
    let secs = watch.seconds
    let err = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    guard status == 0 else { throw ValidationError("\(path) \(args.joined(separator: " ")) exited with status \(status): \(err)") }
    guard let r = err.range(of: "peak RSS "), let mb = Double(err[r.upperBound...].prefix { $0.isNumber || $0 == "." }) else {
        throw ValidationError("avembed --stats printed no peak RSS: \(err)")
    }
    return (secs, Int(mb * 1024))
}

/// The CPU model name from /proc/cpuinfo.
func cpuModel() -> String {
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let name = info.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last ?? "unknown"
    let flags = BLASKernels.cpuFlags()
    let isa = ["avx512f", "avx2", "fma"].filter(flags.contains).joined(separator: "+")
    return name.trimmingCharacters(in: .whitespaces) + (isa.isEmpty ? "" : " (\(isa))")
}
