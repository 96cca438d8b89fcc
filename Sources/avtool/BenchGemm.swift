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

    func validate() throws {
        for (v, flag) in [(rows, "rows"), (inDim, "in-dim"), (outDim, "out-dim")] { try check(v, in: 1...65536, flag) }
        try check(seconds, in: 0.001...3600, "seconds")
    }

    func run() throws {
        print("core \(BLAS.coreName); linear \(rows)×\(inDim) → \(outDim)")
        print("threads  sgemm-peak(1024³)  sgemm(same shape)  linear fwd+bwd  ratio-to-peak")
        for t in threads.threads {
            Threads.set(t)
            let peak = measureSgemm(m: 1024, n: 1024, k: 1024, minSeconds: seconds)
            let shaped = measureSgemm(m: rows, n: outDim, k: inDim, transB: true, minSeconds: seconds)
            let lin = measureLinear()
            print(String(format: "%7d  %17.1f  %17.1f  %14.1f  %12.2f", t, peak, shaped, lin, lin / peak))
        }
    }

    func measureLinear() -> Double {
        let x = Tensor([rows, inDim]), w = Tensor([outDim, inDim]), b = Tensor([outDim])
        let y = Tensor([rows, outDim]), dy = Tensor([rows, outDim])
        let dx = Tensor([rows, inDim]), dw = Tensor([outDim, inDim]), db = Tensor([outDim])
        var rng = Rng(seed: 2)
        rng.fillNormal(x.ptr, x.count); rng.fillNormal(w.ptr, w.count); rng.fillNormal(dy.ptr, dy.count)
        func step() {
            Linear.forward(out: y.ptr, inp: x.ptr, weight: w.ptr, bias: b.ptr, rows: rows, inDim: inDim, outDim: outDim)
            Linear.backward(dinp: dx.ptr, dweight: dw.ptr, dbias: db.ptr, dout: dy.ptr, inp: x.ptr, weight: w.ptr,
                            rows: rows, inDim: inDim, outDim: outDim, accumulate: false)
        }
        step()
        var reps = 0
        let sw = Stopwatch()
        repeat { step(); reps += 1 } while sw.seconds < seconds
        return 6 * Double(rows) * Double(inDim) * Double(outDim) * Double(reps) / sw.seconds / 1e9
    }
}
