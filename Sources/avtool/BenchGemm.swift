import AVTensor
import ArgumentParser

/// Linear forward+backward throughput next to raw sgemm peak, measured in the same run.
struct BenchGemm: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gemm",
        abstract: "Linear forward+backward GFLOP/s vs raw sgemm GFLOP/s, per thread count (default 1 and 2).")

    @Option(help: "Rows (tokens) of the linear layer.") var rows = 4096
    @Option(help: "Input features.") var inDim = 384
    @Option(help: "Output features.") var outDim = 1536
    @Option(help: "Seconds per measurement.") var seconds = 1.0
    @OptionGroup var threads: BenchThreads
    @Option(parsing: .upToNextOption, help: "GEMM threading modes to measure, space-separated: blas, rows.")
    var gemm: [GemmThreading] = [.blas, .rows]

    func validate() throws {
        for (v, flag) in [(rows, "rows"), (inDim, "in-dim"), (outDim, "out-dim")] { try check(v, in: 1...65536, flag) }
        try check(seconds, in: 0.001...3600, "seconds")
    }

    func run() throws {
        print("core \(BLAS.coreName); linear \(rows)×\(inDim) → \(outDim)")
        print("threads  gemm  sgemm-peak(1024³)  sgemm(same shape)  linear fwd+bwd  ratio-to-peak   forward  input-grad  weight-grad (GFLOP/s)")
        for t in threads.threads {
            Threads.set(t)
            let peak = measureSgemm(m: 1024, n: 1024, k: 1024, minSeconds: seconds)
            let shaped = measureSgemm(m: rows, n: outDim, k: inDim, transB: true, minSeconds: seconds)
            for mode in gemm {
                let r = mode == .rows && t > 1 ? BLAS.singleThreaded { measureLinear(mode) } : measureLinear(mode)
                print(String(format: "%7d  %4@  %17.1f  %17.1f  %14.1f  %12.2f  %8.1f  %10.1f  %11.1f", t, mode.rawValue, peak, shaped,
                             r.all, r.all / peak, r.forward, r.inputGrad, r.weightGrad))
            }
        }
    }

    /// GFLOP/s of forward + backward, and of each of its three GEMMs (the input gradient as the
    /// full backward's time less the weight gradient's).
    func measureLinear(_ mode: GemmThreading) -> (all: Double, forward: Double, inputGrad: Double, weightGrad: Double) {
        let x = Tensor([rows, inDim]), w = Tensor([outDim, inDim]), b = Tensor([outDim])
        let y = Tensor([rows, outDim]), dy = Tensor([rows, outDim])
        let dx = Tensor([rows, inDim]), dw = Tensor([outDim, inDim]), db = Tensor([outDim])
        var rng = Rng(seed: 2)
        rng.fillNormal(x.ptr, x.count); rng.fillNormal(w.ptr, w.count); rng.fillNormal(dy.ptr, dy.count)
        func forward() {
            Linear.forward(out: y.ptr, inp: x.ptr, weight: w.ptr, bias: b.ptr, rows: rows, inDim: inDim, outDim: outDim, threading: mode)
        }
        func backward(_ dinp: UnsafeMutablePointer<Float>?) {
            Linear.backward(dinp: dinp, dweight: dw.ptr, dbias: db.ptr, dout: dy.ptr, inp: x.ptr, weight: w.ptr,
                            rows: rows, inDim: inDim, outDim: outDim, accumulate: false, threading: mode)
        }
        func timed(_ body: () -> Void) -> Double {
            body()
            var reps = 0
            let sw = Stopwatch()
            repeat { body(); reps += 1 } while sw.seconds < seconds
            return sw.seconds / Double(reps)
        }
        let f = timed(forward), full = timed { backward(dx.ptr) }, wg = timed { backward(nil) }
        let g = 2 * Double(rows) * Double(inDim) * Double(outDim) / 1e9
        return (3 * g / (f + full), g / f, g / max(1e-12, full - wg), g / wg)
    }
}
