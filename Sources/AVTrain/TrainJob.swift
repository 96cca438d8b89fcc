import Foundation
import AVTensor
import AVEval
import AVDist

/// Where a run's weights come from.
public enum RunStart: Equatable, Sendable {
    /// Fresh initialisation from the config's seed.
    case fresh
    /// Continue a run from a checkpoint path, or `nil` for the newest valid one in out_dir
    /// (fresh if there is none).
    case resume(String?)
    /// Start from these weights (checkpoint, run folder or export) with a fresh optimiser.
    case initialize(from: String)
}

/// One rank's whole job: config → threads → out_dir claimed → trainer → init/resume → run.
public enum TrainJob {
    /// Threads per rank: the config's, else AVTRAIN_THREADS, else 1 under MPI and all cores alone.
    public static func threads(config: TrainConfig, worldSize: Int) -> Int {
        if config.train.threads > 0 { return config.train.threads }
        if let t = ProcessInfo.processInfo.environment["AVTRAIN_THREADS"].flatMap(Int.init), (1...1024).contains(t) { return t }
        return worldSize > 1 ? 1 : ProcessInfo.processInfo.activeProcessorCount
    }

    /// Why the run cannot find its training data (nil when the manifest exists, or when
    /// `synth_if_missing` lets the executable build the demo set there): where the data is
    /// expected and how to make it. Checked before MPI starts, so that rank 0 alone says it.
    public static func missingDataMessage(_ config: TrainConfig) -> String? {
        let path = config.data.trainManifest
        if FileManager.default.fileExists(atPath: path) || config.data.synthIfMissing { return nil }
        return missingDataText(path)
    }

    static func missingDataText(_ path: String) -> String {
        "training data not found: [data] train_manifest = \(path) does not exist. Make it with "
            + "`avtool data pack --csv … --text … --image … --out \((path as NSString).deletingLastPathComponent)` (Datasets/README.md: "
            + "CLIP embeddings with Datasets/clip_embeddings.py, then pack), or try the demo: Launch/demo.sh"
    }

    /// Runs the job on `comm` with a loaded `config`; returns the trainer (for tests). With
    /// `dryRun`, checks config, data and out_dir, prints the plan and trains nothing. Rank 0
    /// claims out_dir (writable, not in use) before anything else, and releases it at the end.
    @discardableResult
    public static func run(config given: TrainConfig, start: RunStart = .fresh, dryRun: Bool = false, comm: Communicator,
                           log: ((String) -> Void)? = nil) throws -> Trainer {
        let say = log ?? { print($0); fflush(stdout) }
        let config = try given.resolved(worldSize: comm.size)
        Threads.set(threads(config: config, worldSize: comm.size))
        let runDir = comm.rank == 0 ? try RunDirectory(path: config.train.outDir, log: say) : nil
        defer { runDir?.release() }
        let trainer = try Trainer(config: config, comm: comm)
        trainer.log = say
        if dryRun {
            if comm.rank == 0 {
                say(trainer.plan)
                say("dry run: config, data (\(trainer.loader.shards.manifest.path), \(trainer.loader.shards.manifest.clips) clips) "
                    + "and out_dir \(config.train.outDir) are usable; nothing trained")
            }
            return trainer
        }
        switch start {
        case .fresh: break
        case .initialize(let i):
            try trainer.initialize(from: i)
            if comm.rank == 0 { say("initialised the encoder from \(i) (fresh optimiser, step 0)") }
        case .resume(let r):
            if let path = r ?? trainer.latestValidCheckpoint() {
                try trainer.restore(from: path)
                if comm.rank == 0 {
                    say("resumed from \(path) at step \(trainer.step)")
                    let dropped = try trainer.metrics.truncate(after: trainer.step)
                    if dropped > 0 { say("metrics.jsonl: dropped \(dropped) row(s) after step \(trainer.step) (they will be written again)") }
                }
            } else if comm.rank == 0 {
                say("--resume latest: no usable checkpoint in \(config.train.outDir); starting from scratch")
            }
        }
        do { try trainer.run() } catch let s as TrainStopped {
            if comm.rank == 0 { say(try trainer.writeSummary(status: "stopped by \(StopRequest.name(s.signal))")) }
            throw s
        }
        if comm.rank == 0 {
            say("done: \(trainer.step) steps, \(trainer.skippedSteps) skipped; checkpoint \(Checkpoints.latest(in: config.train.outDir) ?? "-")")
            say(try trainer.writeSummary(status: "done"))
        }
        return trainer
    }
}
