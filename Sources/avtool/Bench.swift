import ArgumentParser

/// `avtool bench …`: throughput benchmarks (never timed tests). Each prints its figures next to a
/// reference measured in the same run (sgemm peak, librosa, a training step's consumption).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Benchmarks.", subcommands: [
        BenchGemm.self, BenchSwin.self, BenchLoss.self, BenchFrontend.self, BenchLoader.self, BenchEmbed.self, BenchTrain.self,
        BenchAllReduce.self,
    ])
}
