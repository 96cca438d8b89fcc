import AVTensor
import ArgumentParser

BLASKernels.ensureOptimisedKernels(program: "avtool")

/// `avtool`: data, evaluation, export, benchmarks and diagnostics.
struct AVTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "avtool",
        abstract: "avtrain's toolbox: data, eval, export, ckpt, bench, selftest, doctor.",
        subcommands: [DataCommand.self, EvalCommand.self, ExportCommand.self, CheckpointCommand.self, Bench.self, SelfTest.self, Doctor.self])
}

AVTool.main()
