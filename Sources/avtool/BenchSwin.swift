import AVTensor
import AVModel
import ArgumentParser

/// `avtool bench swin`: one training step (forward + backward, no optimiser) of the Swin encoder.
struct BenchSwin: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "swin",
        abstract: "Swin encoder training-step throughput (samples/s, GFLOP/s) next to sgemm peak.")

    @Option(help: "Preset: \(SwinConfig.presetNames.joined(separator: ", ")).") var preset = "swin-t"
    @Option(help: "Input height×width, e.g. 256x256 (default: the preset's).") var image: ImageSize?
    @Option(help: "Window size (default: the preset's).") var window: Int?
    @Option(help: "Batch size.") var batch = 8
    @OptionGroup var threads: BenchThreads
    @Option(help: "Timed steps per thread count (after one warm-up step); the best is reported.") var steps = 3
    @Option(parsing: .upToNextOption,
            help: "GEMM threading modes to measure, space-separated: blas (OpenBLAS threads), rows (our threads split rows, BLAS single-threaded).")
    var gemm: [GemmThreading] = [.blas, .rows]
    @Flag(help: "Only print the memory plan (no timing).") var memoryOnly = false
    @OptionGroup var reference: PyTorchComparison
    @Option(help: "Drop-path rate (default: the preset's).") var dropPath: Float?
    @Option(help: "Pack-free GEMM on the small-weight linears: on, off (OpenBLAS), or both (alternating steps, one line each).")
    var directGemm: OnOffBoth = .on
    @Option(help: "Loops on the polling worker pool: on, off (Dispatch), or both (alternating steps, one line each).")
    var workerPool: OnOffBoth = .on

    func validate() throws {
        try checkPreset(preset)
        if let window { try check(window, in: 1...1024, "window") }
        if let dropPath { try check(dropPath, in: 0...1, "drop-path") }
        try check(batch, in: 1...4096, "batch"); try check(steps, in: 1...1000, "steps")
        guard !gemm.isEmpty else { throw ValidationError("--gemm needs at least one mode (blas, rows)") }
    }

    func run() throws {
        guard var cfg = SwinConfig.preset(preset) else { throw ValidationError("unknown preset '\(preset)'") }
        if let image { cfg.imageSize = [image.height, image.width] }
        if let window { cfg.windowSize = window }
        if let dropPath { cfg.dropPathRate = dropPath }
        let model = try SwinEncoder(config: cfg, batch: batch)
        let flops = 3 * cfg.forwardMatmulFlops
        let mib = 1.0 / 1_048_576
        print("cpu: \(cpuModel()); BLAS core \(BLAS.coreName); kernels \(Kernels.active); \(preset) \(cfg.imageSize[0])×\(cfg.imageSize[1]) window \(cfg.windowSize), batch \(batch), "
              + "\(model.params.parameterCount) parameters")
        print(String(format: "matmul work %.2f GFLOP per sample per step (forward + backward)", flops / 1e9))
        print(String(format: "memory: activations %.1f MiB + scratch %.1f MiB = %.1f MiB per sample (planned for batch %d); "
                     + "parameters + gradients %.1f MiB",
                     Double(model.plan.savedFloats * 4) * mib / Double(batch), Double(model.plan.scratchFloats * 4) * mib / Double(batch),
                     Double(model.activationBytesPerSample) * mib, batch, Double(model.params.count * 8) * mib))
        if let lean = try? SwinEncoder(config: cfg, batch: batch, forwardOnly: true) {
            print(String(format: "forward-only model (inference / EMA teacher): %.1f MiB per sample",
                         Double(lean.activationBytesPerSample) * mib))
        }
        if memoryOnly { return }
        var rng = Rng(seed: 3)
        let input = Tensor([batch * model.inputCount]), dout = Tensor([batch * cfg.embeddingSize])
        rng.fillNormal(input.ptr, input.count); rng.fillNormal(dout.ptr, dout.count)
        print("threads  gemm  sgemm-peak(1024³) GFLOP/s  step s (best)  (median)  samples/s  GFLOP/s  ratio-to-peak"
              + (reference.compare ? "  PyTorch samples/s  ratio" : ""))
        // Every combination of the chosen settings, alternated step by step in this process.
        let variants = directGemm.settings.flatMap { d in workerPool.settings.map { (direct: d, pool: $0) } }
        func use(_ v: (direct: Bool, pool: Bool)) { DirectGemm.enabled = v.direct; Threads.usesWorkerPool = v.pool }
        defer { use((true, true)) }
        for t in threads.threads {
            Threads.set(t)
            for mode in gemm {
                model.gemmThreading = mode
                func step() {
                    model.params.zeroGrads()
                    model.forward(input: input.ptr, training: true, rng: &rng)
                    model.backward(dout: dout.ptr)
                }
                for v in variants { use(v); step() }
                // Alternating rounds with the reference (one round without --compare); best step of
                // each (and of each --direct-gemm/--worker-pool variant, alternating), with our
                // median beside it. Every timed step follows a 0.5 s sgemm window and the peak is the
                // best window: best against best, so a noisy host cannot flatter the ratio.
                var times = [[Double]](repeating: [], count: variants.count), torch = 0.0, peak = 0.0
                for _ in 0..<(reference.compare ? 2 : 1) {
                    for _ in 0..<steps {
                        for (i, v) in variants.enumerated() {
                            use(v)
                            peak = max(peak, measureSgemm(m: 1024, n: 1024, k: 1024, minSeconds: 0.5))
                            let sw = Stopwatch()
                            step()
                            times[i].append(sw.seconds)
                        }
                    }
                    if reference.compare, let r = try runReference("swin_timm.py", referenceArguments(cfg, threads: t)), let sps = r["samples_per_s"] {
                        torch = max(torch, sps)
                    }
                }
                for (i, v) in variants.enumerated() {
                    let sorted = times[i].sorted(), best = sorted[0], median = sorted[sorted.count / 2]
                    let sps = Double(batch) / best, gf = sps * flops / 1e9
                    let label = mode.rawValue + (directGemm == .both ? (v.direct ? "+direct" : "+blas") : "")
                        + (workerPool == .both ? (v.pool ? "+pool" : "+dispatch") : "")
                    var line = String(format: "%7d  %4@  %24.1f  %13.3f  %8.3f  %9.2f  %7.1f  %12.2f", t, label, peak, best, median, sps, gf,
                                      gf / peak)
                    if reference.compare { line += torch > 0 ? String(format: "  %17.2f  %5.2f×", torch, sps / torch) : "  (no reference)" }
                    print(line)
                }
            }
        }
    }

    /// The same work for `bench/reference/swin_timm.py`: this model's exact geometry.
    func referenceArguments(_ c: SwinConfig, threads: Int) -> [String] {
        ["--embed-dim", "\(c.embedDim)", "--patch", "\(c.patchSize)", "--depths"] + c.depths.map(String.init) + ["--heads"] + c.numHeads.map(String.init)
            + ["--window", "\(c.windowSize)", "--drop-path", "\(c.dropPathRate)", "--image", "\(c.imageSize[0])", "\(c.imageSize[1])",
               "--embedding", "\(c.embeddingSize)", "--batch", "\(batch)", "--threads", "\(threads)", "--steps", "\(steps)"]
    }
}

extension GemmThreading: ExpressibleByArgument {}

/// `--direct-gemm`, `--worker-pool`: a setting on, off, or both alternating.
enum OnOffBoth: String, ExpressibleByArgument, CaseIterable {
    case on, off, both

    /// The settings to run, in order.
    var settings: [Bool] { self == .both ? [true, false] : [self == .on] }
}

/// `--image 256x256`: an input height × width.
struct ImageSize: ExpressibleByArgument {
    let height: Int, width: Int

    init?(argument: String) {
        let parts = argument.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let h = parts[0], let w = parts[1], h > 0, w > 0 else { return nil }
        (height, width) = (h, w)
    }

    var defaultValueDescription: String { "\(height)x\(width)" }
}
