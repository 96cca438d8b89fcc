import Foundation
import ArgumentParser
import AVTensor
import AVDist
import AVMPI
import AVTrain
import AVData
#if canImport(Glibc)
import Glibc
#endif

BLASKernels.ensureOptimisedKernels(program: "avtrain")
setvbuf(stdout, nil, _IOLBF, 0)

/// This process's rank as the launcher announces it before MPI starts (0 alone), and whether a
/// launcher started it as part of a job.
let env = ProcessInfo.processInfo.environment
let launchedRank = ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"].lazy.compactMap { env[$0].flatMap(Int.init) }.first
let underMPI = env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil || env["PMI_RANK"] != nil
let isRankZero = (launchedRank ?? 0) == 0

/// `avtrain`: one rank of a training run (alone: the whole run).
struct AVTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "avtrain",
        abstract: "Train the audio encoder into CLIP space (one process, or every rank under mpirun/srun).",
        discussion: """
            Examples:
              avtrain --config Launch/demo.toml
              avtrain --config Launch/swin-b.toml --set optim.lr=3e-4
              mpirun -n 8 avtrain --config Launch/swin-b.toml --resume latest
              avtrain --config Launch/swin-t.toml --init encoder/
              avtrain --config Launch/swin-b.toml --dry-run

            Exit status: 0 done; 1 error (message on stderr); 2 usage; 3 stopped by a signal \
            (SIGINT, SIGTERM, SIGUSR1) after writing a checkpoint: continue with --resume latest. \
            A second Ctrl-C exits at once. Configuration keys: docs/training.md.
            """)

    @Option(help: "TOML training config (see Launch/demo.toml).") var config: String
    @Option(help: "Override one key, e.g. --set optim.lr=3e-4 (repeatable; a bare word is a string).") var set: [String] = []
    @Option(help: "Continue from a checkpoint: `latest` (the newest valid one in [train] out_dir) or a path.") var resume: String?
    @Option(name: .customLong("init"), help: "Start from these weights (checkpoint, run folder or export) with a fresh optimiser.")
    var initFrom: String?
    @Flag(help: "Validate the config, the data and out_dir, print the plan and exit.") var dryRun = false

    func validate() throws {
        if resume != nil && initFrom != nil { throw ValidationError("--resume continues a run, --init starts one from weights: give one") }
    }
}

let command: AVTrainCommand
do {
    command = try AVTrainCommand.parse()
} catch {
    // Every rank parses the same arguments: rank 0 speaks, all exit with the same status
    // (0 for --help, 2 for a usage error).
    let code = AVTrainCommand.exitCode(for: error)
    if isRankZero {
        let message = AVTrainCommand.fullMessage(for: error)
        if code == .success { print(message) } else { fputs(message + "\n", stderr) }
    }
    exit(code == .success ? 0 : 2)
}
let start: RunStart = command.initFrom.map { .initialize(from: $0) }
    ?? command.resume.map { .resume($0 == "latest" ? nil : $0) } ?? .fresh

/// The config is read before MPI starts: every rank reads the same file, so on an error rank 0
/// prints it once and every rank exits with status 1 (no MPI_Abort, no N copies of the message).
let config: TrainConfig
do { config = try TrainConfig.load(path: command.config, overrides: command.set) } catch {
    if isRankZero { fputs("avtrain: \(error)\n", stderr) }
    exit(1)
}
if let missing = TrainJob.missingDataMessage(config) {
    if isRankZero { fputs("avtrain: \(missing)\n", stderr) }
    exit(1)
}

/// srun without a PMI that MPI can use starts N independent 1-rank jobs that would share one
/// out_dir: refuse, saying which srun option to use.
if let tasks = env["SLURM_NTASKS"].flatMap(Int.init), tasks > 1, env["SLURM_PROCID"] != nil, !underMPI {
    if isRankZero {
        fputs("avtrain: SLURM started \(tasks) tasks, but no PMI/PMIx reached this process, so they cannot form one MPI job "
              + "(each would train alone into the same out_dir). Launch with `srun --mpi=pmix …` (`srun --mpi=list` shows "
              + "what this cluster has; pmi2 works too), or with mpirun inside the allocation. See Launch/slurm.sbatch.\n", stderr)
    }
    exit(1)
}
StopRequest.install()

/// With `[data] synth_if_missing` and no training data yet, rank 0 builds the demo set where the
/// manifest is expected (avtool data synth defaults) while the other ranks wait.
func synthesiseDemoDataIfMissing(_ comm: Communicator) throws {
    let path = config.data.trainManifest
    guard config.data.synthIfMissing, !FileManager.default.fileExists(atPath: path) else { return }
    let root = URL(fileURLWithPath: path).deletingLastPathComponent().deletingLastPathComponent().path
    if comm.rank == 0 {
        fputs("avtrain: \(path) is missing; synthesising the demo dataset into \(root) (avtool data synth defaults)\n", stderr)
        _ = try DemoDataset.make(in: root, config: DemoConfig())
    }
    try comm.barrier()
}

/// Runs the job; a stop on a signal is not a failure of the job (status 3, checkpoint written).
func job(_ comm: Communicator) throws -> Int32 {
    do {
        try synthesiseDemoDataIfMissing(comm)
        try TrainJob.run(config: config, start: start, dryRun: command.dryRun, comm: comm)
        return 0
    } catch let s as TrainStopped {
        if comm.rank == 0 { print("avtrain: \(s)") }
        return StopRequest.exitStatus
    }
}

// Under mpirun (OpenMPI sets OMPI_COMM_WORLD_SIZE) or srun (PMIx/PMI set PMIX_RANK/PMI_RANK)
// every rank joins MPI_COMM_WORLD; an error on any rank aborts the whole job. Alone, the same
// code runs with a single-rank communicator.
if underMPI {
    exit(try MPICommunicator.run(timeoutSeconds: Double(config.dist.timeoutS), job))
} else {
    do { exit(try job(InProcessCommunicator.single())) } catch {
        fputs("avtrain: \(error)\n", stderr)
        exit(1)
    }
}
