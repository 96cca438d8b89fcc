import Foundation
import AVTensor
import AVDist
import AVMPI
import AVTrain
#if canImport(Glibc)
import Glibc
#endif

BLASKernels.ensureOptimisedKernels(program: "avtrain")
setvbuf(stdout, nil, _IOLBF, 0)

let options: TrainOptions
do {
    options = try TrainOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    fputs("\(error)\n", stderr)
    exit(CommandLine.arguments.contains("--help") || CommandLine.arguments.contains("-h") ? 0 : 2)
}

// Under mpirun (OpenMPI sets OMPI_COMM_WORLD_SIZE) or srun (PMIx/PMI set PMIX_RANK/PMI_RANK)
// every rank joins MPI_COMM_WORLD; an error on any rank aborts the whole job. Alone, the same
// code runs with a single-rank communicator.
let env = ProcessInfo.processInfo.environment
if env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil || env["PMI_RANK"] != nil {
    try MPICommunicator.run { comm in _ = try TrainJob.run(options, comm: comm) }
} else {
    do {
        try TrainJob.run(options, comm: InProcessCommunicator.single())
    } catch {
        fputs("avtrain: \(error)\n", stderr)
        exit(1)
    }
}
