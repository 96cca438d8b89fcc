import Foundation
import ArgumentParser
import AVTensor
import AVData
import AVModel

/// `avtool bench train`: whole training steps (data, forward, backward, the five-term objective,
/// gradient all-reduce, optimiser) of the real `avtrain` binary on synthetic shards, as
/// 1 rank × N threads and as N ranks × 1 thread under `mpirun`, with and without the overlapped
/// all-reduce: samples/s, the share of the step rank 0 spends waiting for gradients, peak RSS.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train",
        abstract: "Full training steps: 1 rank × N threads vs N ranks × 1 thread, communication share with/without overlap.")

    @Option(help: "Model preset: \(SwinConfig.presetNames.joined(separator: ", ")).") var preset = "swin-t"
    @Option(help: "Global batch (clips per step over all ranks).") var globalBatch = 16
    @Option(help: "Cores to use (N).") var cores = 2
    @Option(help: "Timed steps after 2 warm-up steps.") var steps = 4
    @Option(help: "Front-end: default (10.23 s at 16 kHz folded to 256×256) or demo (the demo's 4 s → 64×64).")
    var frontend: FrontEndChoice = .default
    @OptionGroup var reference: PyTorchComparison

    /// `--frontend`: which clips and log-mel image the timed steps use.
    enum FrontEndChoice: String, ExpressibleByArgument, CaseIterable { case `default`, demo }

    func validate() throws {
        guard (1...64).contains(cores), (1...4096).contains(globalBatch), globalBatch % cores == 0, (1...1000).contains(steps) else {
            throw ValidationError("--cores 1...64, --global-batch divisible by --cores, --steps 1...1000")
        }
        try checkPreset(preset)
    }

    func run() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("avtrain-bench-train-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: work) }
        var d = DemoConfig()
        d.classes = 8; d.trainPerClass = max(8, (globalBatch * (steps + 2) + 7) / 8); d.evalPerClass = 1; d.dim = 512
        d.seconds = frontend == .demo ? 4 : 10.23; d.shardSize = 512
        let data = try DemoDataset.make(in: work + "/data", config: d)
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let avtrain = bin.appendingPathComponent("avtrain").path
        let fe = frontend == .demo
            ? "[frontend]\nclip_samples = 64000\nn_fft = 1024\nwin_length = 1024\nhop_length = 1000\nn_mels = 64\nfold = false\nimage_height = 64\nimage_width = 64\n"
            : "[frontend]\nclip_samples = \(d.clipSamples)\n"
        let window = frontend == .demo && preset != "tiny" ? "window = 4\n" : ""
        let config = work + "/bench.toml"
        try """
            [model]
            preset = "\(preset)"
            \(window)
            [data]
            train_manifest = "\(data.trainManifestPath)"
            global_batch = \(globalBatch)
            workers = 1
            \(fe)
            [loss]
            audio_text = 1.0
            audio_image = 1.0
            audio_audio = 0.5
            weak_kd = 0.5
            [optim]
            lr = 1e-4
            warmup_steps = 2
            [train]
            steps = \(steps + 2)
            log_every = 1
            checkpoint_every = 0
            out_dir = "\(work)/run"
            """.write(toFile: config, atomically: true, encoding: .utf8)

        print("cpu: \(cpuModel()); BLAS core \(BLAS.coreName); kernels \(Kernels.active); \(preset), global batch \(globalBatch), \(steps) timed steps after 2")
        print("layout                      overlap  samples/s  step s  comm wait share  peak RSS/rank MB")
        var rows: [(String, Double)] = []
        for (ranks, overlap) in [(1, true), (cores, true), (cores, false)] {
            try? FileManager.default.removeItem(atPath: work + "/run")
            let threads = cores / ranks
            var args = [avtrain, "--config", config, "--set", "train.threads=\(threads)", "--set", "dist.overlap=\(overlap)"]
            var env = ["AVTRAIN_THREADS": "\(threads)"]
            let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
            if ranks > 1 {
                guard let mpirun else { print("mpirun not found: \(ranks)-rank rows skipped"); continue }
                args = [mpirun, "--oversubscribe", "-n", "\(ranks)", "-x", "OPENBLAS_CORETYPE", "-x", "AVTRAIN_THREADS"] + args
                env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
            }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: args[0])
            p.arguments = Array(args.dropFirst())
            p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw ValidationError("\(args.joined(separator: " ")) exited with \(p.terminationStatus)") }
            let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/run/summary.json"))) as? [String: Any] ?? [:]
            // Steady state: the steps after the 2 warm-up steps, from metrics.jsonl's clock.
            let rowsJSON = try String(contentsOfFile: work + "/run/metrics.jsonl", encoding: .utf8).split(separator: "\n")
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let times = rowsJSON.compactMap { r -> (Int, Double)? in
                guard let s = r["step"] as? Int, let t = r["time_s"] as? Double else { return nil }
                return (s, t)
            }
            guard let t0 = times.first(where: { $0.0 == 2 }), let t1 = times.last, t1.0 > 2 else { throw ValidationError("no steady-state steps recorded") }
            let stepSeconds = (t1.1 - t0.1) / Double(t1.0 - 2)
            let rate = Double(globalBatch) / stepSeconds
            let share = (summary["communication_share"] as? Double) ?? 0
            let rss = (summary["peak_rss_mb_rank0"] as? Double) ?? 0
            let layout = "\(ranks) rank(s) × \(threads) thread(s)"
            print(String(format: "%@  %7@  %9.2f  %6.2f  %14.1f %%  %16.0f", layout.padding(toLength: 26, withPad: " ", startingAt: 0),
                         ranks > 1 ? (overlap ? "on" : "off") : "-", rate, stepSeconds, 100 * share, rss))
            rows.append((layout + (ranks > 1 ? (overlap ? ", overlap" : ", no overlap") : ""), rate))
            if let shares = summary["phase_shares"] as? [String: Double] {
                let order = ["data_wait", "forward", "objective", "backward", "allreduce_wait", "optimizer"]
                print("    rank 0's time: " + order.map { String(format: "%@ %.1f %%", $0, 100 * (shares[$0] ?? 0)) }.joined(separator: ", ")
                      + String(format: "; rest (start-up, logging, checkpoint) %.1f %%", 100 * (1 - order.reduce(0) { $0 + (shares[$1] ?? 0) })))
            }
        }
        if reference.compare {
            if let r = try runReference("train_timm.py", ["--preset", preset, "--batch", "\(globalBatch)", "--threads", "\(cores)",
                                                          "--steps", "\(steps)", "--image", frontend == .demo ? "64" : "256"]),
               let torch = r["samples_per_s"] {
                print(String(format: "PyTorch %@, 1 process × %d threads: %.2f samples/s (peak RSS %.0f MB)", "timm", cores, torch,
                             r["peak_rss_mb"] ?? 0))
                for (layout, rate) in rows { print(String(format: "  %@: %.2f× PyTorch", layout, rate / torch)) }
            }
        }
    }
}
