import AVMPI
import ArgumentParser
import Foundation

/// `avtool selftest …`: checks of the native libraries that need their own process (MPI).
struct SelfTest: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "selftest", abstract: "Library self-tests (run under mpirun).",
                                                    subcommands: [SelfTestMPI.self, SelfTestCollectives.self, SelfTestLosses.self, SelfTestAbort.self])
}

/// All-reduces [r+1, 2(r+1), …] over MPI_COMM_WORLD and checks the sum on every rank.
struct SelfTestMPI: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mpi", abstract: "MPI_Allreduce smoke test.")

    @Option(help: "Floats to reduce.") var count = 1000

    func run() throws {
        let comm = try MPICommunicator()
        defer { MPIRuntime.finalize() }
        let rank = comm.rank, size = comm.size
        var buf = (0..<count).map { Float((rank + 1) * ($0 % 7 + 1)) }
        try buf.withUnsafeMutableBufferPointer { try comm.allReduceSumRaw($0.baseAddress!, count: count) }
        let ranksSum = Float(size * (size + 1) / 2)
        let bad = (0..<count).first { buf[$0] != ranksSum * Float($0 % 7 + 1) }
        if let bad {
            print("rank \(rank)/\(size): MISMATCH at \(bad): \(buf[bad])")
            throw ExitCode(1)
        }
        print("rank \(rank)/\(size): allreduce ok sum=\(buf[0])")
    }
}
