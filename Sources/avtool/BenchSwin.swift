import AVTensor
import AVModel
import ArgumentParser

/// `avtool bench swin`: one training step (forward + backward, no optimiser) of the Swin encoder.
struct BenchSwin: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "swin",
        abstract: "Swin encoder training-step throughput (samples/s, GFLOP/s) next to sgemm peak.")

    @Option(help: "Preset: \(SwinConfig.presetNames.joined(separator: ", ")).") var preset = "swin-t"
    @Option(help: "Input height×width, e.g. 256x256 (default: the preset's).") var image: String?
    @Option(help: "Window size (default: the preset's).") var window: Int?
    @Option(help: "Batch size.") var batch = 8
    @Option(help: "Thread counts to measure (comma-separated).") var threads = "1,2"
    @Option(help: "Timed steps per thread count (after one warm-up step).") var steps = 3
    @Option(help: "GEMM threading modes to measure (comma-separated): blas (OpenBLAS threads), rows (our threads split rows, BLAS single-threaded).")
    var gemm = "blas,rows"
    @Flag(help: "Only print the memory plan (no timing).") var memoryOnly = false
    @Option(help: "Drop-path rate (default: the preset's).") var dropPath: Float?

    func run() throws {
        guard var cfg = SwinConfig.preset(preset) else {
            throw ValidationError("unknown preset '\(preset)'; choose one of \(SwinConfig.presetNames.joined(separator: ", "))")
        }
        if let image {
            let parts = image.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2 else { throw ValidationError("--image must look like 256x256, got '\(image)'") }
            cfg.imageSize = parts
        }
        if let window { cfg.windowSize = window }
        if let dropPath { cfg.dropPathRate = dropPath }
        let modes = try gemm.split(separator: ",").map { m -> GemmThreading in
            guard let mode = GemmThreading(rawValue: String(m)) else { throw ValidationError("--gemm takes blas and/or rows, got '\(m)'") }
            return mode
        }
        let model = try SwinEncoder(config: cfg, batch: batch)
        let flops = 3 * cfg.forwardMatmulFlops
        let mib = 1.0 / 1_048_576
        print("core \(BLAS.coreName); \(preset) \(cfg.imageSize[0])×\(cfg.imageSize[1]) window \(cfg.windowSize), batch \(batch), "
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
        print("threads  gemm  sgemm-peak(1024³) GFLOP/s  step s  samples/s  GFLOP/s  ratio-to-peak")
        for t in threads.split(separator: ",").compactMap({ Int($0) }) {
            Threads.set(t)
            let peak = measureSgemm(m: 1024, n: 1024, k: 1024)
            for mode in modes {
                model.gemmThreading = mode
                func step() {
                    model.params.zeroGrads()
                    model.forward(input: input.ptr, training: true, rng: &rng)
                    model.backward(dout: dout.ptr)
                }
                step()
                let sw = Stopwatch()
                for _ in 0..<steps { step() }
                let secs = sw.seconds / Double(steps)
                let sps = Double(batch) / secs, gf = sps * flops / 1e9
                print(String(format: "%7d  %4@  %24.1f  %6.3f  %9.2f  %7.1f  %12.2f", t, mode.rawValue, peak, secs, sps, gf, gf / peak))
            }
        }
    }
}
