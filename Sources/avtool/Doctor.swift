import Foundation
import AVTensor
import AVAudio
import AVHDF5
import AVMPI
import ArgumentParser

/// `avtool doctor`: what this machine gives avtrain (BLAS kernels and speed, library versions).
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Report BLAS core, threads, sgemm speed and library versions.")

    @Option(help: "Threads for the sgemm measurement.") var threads = 1

    func run() throws {
        Threads.set(threads)
        let flags = BLASKernels.cpuFlags()
        let isa = flags.contains("avx512f") ? "AVX-512" : flags.contains("avx2") ? "AVX2" : "SSE"
        print("cpu          \(isa), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("blas core    \(BLAS.coreName)" + (BLASKernels.suggestedCoreType().map { " (GENERIC: set OPENBLAS_CORETYPE=\($0))" } ?? ""))
        print("blas threads \(BLAS.threads)")
        print("blas config  \(BLAS.config)")
        let g = measureSgemm(m: 1024, n: 1024, k: 1024, minSeconds: 1)
        print(String(format: "sgemm        %.1f GFLOP/s (1024³, %d thread%@)", g, threads, threads == 1 ? "" : "s"))
        print("openmpi      \(MPIRuntime.libraryVersion)")
        print("hdf5         \(hdf5Version())")
        print("libsndfile   \(AudioFile.libraryVersion)")
    }
}
