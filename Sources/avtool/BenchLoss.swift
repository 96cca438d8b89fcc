import AVDist
import AVLoss
import AVTensor
import ArgumentParser

/// The full objective (five terms, forward + backward) in one process, next to raw sgemm of
/// the logits' shape measured in the same run.
struct BenchLoss: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "loss",
        abstract: "contrastiveObjective (all five terms) time per call and GEMM-equivalent GFLOP/s vs sgemm.")

    @Option(help: "Clips in the batch (rows = columns: one rank holding the global batch).") var batch = 1024
    @Option(help: "Embedding size.") var dim = 512
    @Option(help: "Seconds per measurement.") var seconds = 1.0
    @OptionGroup var threads: BenchThreads

    /// GEMMs of batch×batch×dim per call: 2 per cross-entropy direction with one trainable
    /// side (a–t, a–v), 3 for a–ã (both trainable), 3 per KL direction (logits, target, one gradient).
    static let gemmsPerCall = 4 + 4 + 6 + 6 + 6

    func validate() throws {
        try check(batch, in: 1...16384, "batch"); try check(dim, in: 1...8192, "dim")
        try check(seconds, in: 0.001...3600, "seconds")
    }

    func run() throws {
        var rng = Rng(seed: 3)
        func randn() -> [Float] { (0..<(batch * dim)).map { _ in rng.normal() } }
        let inputs = LossInputs(dim: dim, x: randn(), xAug: randn(), xMomentum: randn(), text: randn(),
                                image: randn(), weakImage: randn())
        let weights = LossWeights(audioText: 1, audioImage: 1, audioAudio: 1, weakKD: 1, momentumKD: 1, tauKD: 0.1)
        let comm = InProcessCommunicator.single()
        print("core \(BLAS.coreName); objective over \(batch) clips × \(dim), all five terms, \(Self.gemmsPerCall) GEMMs of \(batch)×\(batch)×\(dim)")
        print("threads  sgemm(\(batch)×\(batch)×\(dim)) GFLOP/s  objective ms/call  GEMM-equiv GFLOP/s  ratio")
        for t in threads.threads {
            Threads.set(t)
            let sg = measureSgemm(m: batch, n: batch, k: dim, transB: true, minSeconds: seconds)
            _ = try contrastiveObjective(local: inputs, logitScale: 2.66, weights: weights, comm: comm)
            var reps = 0
            let sw = Stopwatch()
            repeat {
                _ = try contrastiveObjective(local: inputs, logitScale: 2.66, weights: weights, comm: comm)
                reps += 1
            } while sw.seconds < seconds
            let perCall = sw.seconds / Double(reps)
            let flops = Double(Self.gemmsPerCall) * 2 * Double(batch) * Double(batch) * Double(dim)
            let gf = flops / perCall / 1e9
            print(String(format: "%7d  %28.1f  %17.2f  %18.1f  %5.2f", t, sg, perCall * 1e3, gf, gf / sg))
        }
    }
}
