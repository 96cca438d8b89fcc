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
    @Flag(help: "Print only the OpenBLAS core in use (for launchers: OPENBLAS_CORETYPE=$(avtool doctor --core)).")
    var core = false

    func run() throws {
        if core { print(BLAS.coreName); return }
        Threads.set(threads)
        let flags = BLASKernels.cpuFlags()
        let isa = flags.contains("avx512f") ? "AVX-512" : flags.contains("avx2") ? "AVX2" : "SSE"
        print("cpu          \(isa), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("blas core    \(BLAS.coreName)" + (BLASKernels.suggestedCoreType().map { " (GENERIC: set OPENBLAS_CORETYPE=\($0))" } ?? ""))
        print("blas threads \(BLAS.threads)")
        print("blas config  \(BLAS.config)")
        // Peak: best of three 2048³ runs (a neighbour's burst of load lowers one run, not all three).
        let g = (0..<3).map { _ in measureSgemm(m: 2048, n: 2048, k: 2048, minSeconds: 0.7) }.max()!
        print(String(format: "sgemm        %.1f GFLOP/s (2048³ best of 3, %d thread%@)", g, threads, threads == 1 ? "" : "s"))
        print("openmpi      \(MPIRuntime.libraryVersion)")
        print("hdf5         \(hdf5Version())")
        print("libsndfile   \(AudioFile.libraryVersion)")
    }
}
