import Foundation
import AVTensor
import AVEval
import AVDist

/// The `avtrain` command line: `--config FILE [--set section.key=value ...] [--resume latest|PATH]`.
public struct TrainOptions: Equatable, Sendable {
    public var configPath = ""
    public var overrides: [String] = []
    /// nil: start fresh; "latest": the newest checkpoint in out_dir (fresh if none); else a path.
    public var resume: String?

    public init() {}

    public static let usage = """
        usage: avtrain --config FILE [--set section.key=value ...] [--resume latest|PATH]
          --config FILE   TOML training config (see Launch/demo.toml)
          --set K=V       override one key, e.g. --set optim.lr=3e-4 --set train.out_dir=Checkpoints/x (repeatable)
          --resume R      continue from checkpoint R, or `latest` in [train] out_dir
        Under mpirun every rank runs this; rank 0 logs and writes checkpoints.
        """

    /// Parses the arguments (without the program name); throws a `TrainError` with the usage.
    public static func parse(_ args: [String]) throws -> TrainOptions {
        var o = TrainOptions()
        var i = 0
        func value(_ flag: String) throws -> String {
            i += 1
            guard i < args.count else { throw TrainError("\(flag) needs a value\n\(usage)") }
            return args[i]
        }
        while i < args.count {
            let a = args[i]
            switch a {
            case "--config": o.configPath = try value(a)
            case "--set": o.overrides.append(try value(a))
            case "--resume": o.resume = try value(a)
            case "-h", "--help": throw TrainError(usage)
            default:
                if a.hasPrefix("--config=") { o.configPath = String(a.dropFirst(9)) }
                else if a.hasPrefix("--set=") { o.overrides.append(String(a.dropFirst(6))) }
                else if a.hasPrefix("--resume=") { o.resume = String(a.dropFirst(9)) }
                else { throw TrainError("unknown argument '\(a)'\n\(usage)") }
            }
            i += 1
        }
        guard !o.configPath.isEmpty else { throw TrainError("--config is required\n\(usage)") }
        return o
    }
}

/// One rank's whole job: config → threads → trainer → optional resume → run.
public enum TrainJob {
    /// Threads per rank: the config's, else AVTRAIN_THREADS, else 1 under MPI and all cores alone.
    public static func threads(config: TrainConfig, worldSize: Int) -> Int {
        if config.train.threads > 0 { return config.train.threads }
        if let t = ProcessInfo.processInfo.environment["AVTRAIN_THREADS"].flatMap(Int.init), t > 0 { return t }
        return worldSize > 1 ? 1 : ProcessInfo.processInfo.activeProcessorCount
    }

    /// Runs the job on `comm`; returns the trainer (for tests).
    @discardableResult
    public static func run(_ options: TrainOptions, comm: Communicator, log: ((String) -> Void)? = nil) throws -> Trainer {
        let config = try TrainConfig.load(path: options.configPath, overrides: options.overrides)
        Threads.set(threads(config: config, worldSize: comm.size))
        let trainer = try Trainer(config: config, comm: comm)
        if let log { trainer.log = log }
        if let r = options.resume {
            let path = r == "latest" ? Checkpoints.latest(in: config.train.outDir) : r
            if let path {
                try trainer.restore(from: path)
                if comm.rank == 0 { trainer.log("resumed from \(path) at step \(trainer.step)") }
            } else if comm.rank == 0 {
                trainer.log("--resume latest: no checkpoint in \(config.train.outDir); starting from scratch")
            }
        }
        try trainer.run()
        if comm.rank == 0 {
            trainer.log("done: \(trainer.step) steps, \(trainer.skippedSteps) skipped; checkpoint \(Checkpoints.latest(in: config.train.outDir) ?? "-")")
            if let e = trainer.evalSummary {
                trainer.log(String(format: "zero-shot top-1: last %.1f %% (step %d), best %.1f %% (step %d); chance %.1f %%",
                                   100 * e.last.top1, e.last.step, 100 * e.best.top1, e.best.step,
                                   100 / Double(max(1, trainer.evalClassCount))))
            }
        }
        return trainer
    }
}
