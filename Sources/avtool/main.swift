import AVTensor
import ArgumentParser

BLASKernels.ensureOptimisedKernels(program: "avtool")

/// `avtool`: data, evaluation, export, benchmarks and diagnostics.
struct AVTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "avtool",
        abstract: "avtrain's toolbox: doctor, bench, selftest.",
        subcommands: [Doctor.self, Bench.self, SelfTest.self, DataCommand.self])
}

AVTool.main()
