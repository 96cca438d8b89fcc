import AVDist
import AVLoss
import AVMPI
import AVTensor
import ArgumentParser
import Foundation

/// `avtool selftest collectives`: MPICommunicator's collectives with real values under mpirun.
struct SelfTestCollectives: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collectives", abstract: "All-reduce in buckets, all-gather, reduce-scatter, broadcast, barrier over MPI.")

    @Option(help: "Floats to all-reduce.") var count = 1000
    @Option(help: "All-reduce bucket size in floats.") var bucket = 64

    func run() throws {
        let failures = try MPICommunicator.run { comm -> [String] in
            let (rank, size) = (comm.rank, comm.size)
            var bad: [String] = []
            func expect(_ ok: Bool, _ what: String) { if !ok { bad.append(what) } }
            comm.bucketElements = bucket
            var a = (0..<count).map { Float((rank + 1) * ($0 % 13 + 1)) }
            try comm.allReduce(&a)
            let ranksSum = Float(size * (size + 1) / 2)
            expect(a == (0..<count).map { ranksSum * Float($0 % 13 + 1) }, "allreduce sum")
            let buckets = (count + bucket - 1) / bucket
            expect(comm.allReduceCalls == buckets, "allreduce made \(comm.allReduceCalls) calls, expected \(buckets)")
            var m = (0..<130).map { Float(rank * 1000 + $0) }
            try comm.allReduce(&m, op: .mean)
            expect(zip(m, 0..<130).allSatisfy { abs($0 - (Float(size - 1) * 500 + Float($1))) < 1e-3 }, "allreduce mean")
            var d = [Double(rank) + 1e-12, 2]
            try comm.allReduce(&d)
            expect(abs(d[0] - (Double(size * (size - 1) / 2) + Double(size) * 1e-12)) < 1e-15 && d[1] == Double(2 * size),
                   "allreduce double \(d)")
            let g = try comm.allGather((0..<5).map { Float(rank * 10 + $0) })
            expect(g == (0..<size).flatMap { r in (0..<5).map { Float(r * 10 + $0) } }, "allgather")
            let rs = try comm.reduceScatter((0..<(3 * size)).map { Float($0) * Float(rank + 1) })
            expect(rs == (0..<3).map { Float(rank * 3 + $0) * ranksSum }, "reduce-scatter \(rs)")
            comm.bucketElements = 4
            var b = rank == size - 1 ? (0..<11).map { Float($0) + 0.5 } : [Float](repeating: -1, count: 11)
            try comm.broadcast(&b, root: size - 1)
            expect(b == (0..<11).map { Float($0) + 0.5 }, "broadcast")
            try comm.barrier()
            print(bad.isEmpty ? "rank \(rank)/\(size): collectives ok (\(buckets) allreduce buckets)"
                              : "rank \(rank)/\(size): MISMATCH \(bad.joined(separator: "; "))")
            return bad
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }
}

/// `avtool selftest losses`: the distributed objective under mpirun against the single-process
/// global-batch objective computed on every rank.
struct SelfTestLosses: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "losses", abstract: "Distributed losses and gradients vs the single-process global batch.")

    @Option(help: "Global batch (divisible by the number of ranks).") var batch = 16
    @Option(help: "Embedding size.") var dim = 32
    @Option(help: "Seed of the random embeddings (the same on every rank).") var seed: UInt64 = 7
    @Option(help: "Largest accepted relative error.") var tolerance = 1e-5

    func run() throws {
        let ok = try MPICommunicator.run { comm -> Bool in
            guard batch % comm.size == 0 else {
                throw ValidationError("global batch \(batch) is not divisible by \(comm.size) ranks")
            }
            let global = randomInputs()
            let share = batch / comm.size, mine = comm.rank * share..<(comm.rank + 1) * share
            let rows = mine.lowerBound * dim..<mine.upperBound * dim
            let logitScale = Float(log(1 / 0.07))
            var all: [(String, LossWeights)] = LossTerm.allCases.map { ($0.rawValue, .only($0)) }
            all.append(("total", LossWeights(audioText: 1, audioImage: 0.5, audioAudio: 0.3, weakKD: 0.7,
                                             momentumKD: 0.25, tauKD: 0.1)))
            var ok = true
            for (name, w) in all {
                let ref = try contrastiveObjective(local: global, logitScale: logitScale, weights: w,
                                                   comm: InProcessCommunicator.single())
                let got = try contrastiveObjective(local: global.rows(mine), logitScale: logitScale, weights: w, comm: comm)
                let eValue = relErr([got.total], [ref.total])
                let eX = relErr(got.gradX, Array(ref.gradX[rows]))
                let eXA = w.audioAudio == 0 ? 0 : relErr(got.gradXAug, Array(ref.gradXAug[rows]))
                let eS = ref.gradLogitScale == 0 ? Double(abs(got.gradLogitScale)) : relErr([got.gradLogitScale], [ref.gradLogitScale])
                let pass = [eValue, eX, eXA, eS].allSatisfy { $0 <= tolerance }
                ok = ok && pass
                print(String(format: "rank %d/%d: %@ value=%.7f err_value=%.2e err_grad_x=%.2e err_grad_x_aug=%.2e err_grad_scale=%.2e %@",
                             comm.rank, comm.size, name, got.total, eValue, eX, eXA, eS, pass ? "ok" : "MISMATCH"))
            }
            print("rank \(comm.rank)/\(comm.size): losses \(ok ? "ok" : "MISMATCH")")
            return ok
        }
        if !ok { throw ExitCode(1) }
    }

    /// The global batch: five classes; every embedding lies near its clip's class prototype, so
    /// negatives of the same class are hard, as in training data.
    func randomInputs() -> LossInputs {
        var rng = Rng(seed: seed)
        let classes = 5
        let protos = (0..<(classes * dim)).map { _ in rng.normal() }
        let proto = (0..<(batch * dim)).map { protos[($0 / dim) % classes * dim + $0 % dim] }
        func near(_ std: Float) -> [Float] { proto.map { $0 + std * rng.normal() } }
        return LossInputs(dim: dim, x: near(1), xAug: near(1), xMomentum: near(1), text: near(0.3),
                          image: near(0.6), weakImage: near(0.6))
    }

    func relErr(_ a: [Float], _ b: [Float]) -> Double {
        var num = 0.0, den = 0.0
        for (x, y) in zip(a, b) { num += Double(x - y) * Double(x - y); den += Double(y) * Double(y) }
        return num.squareRoot() / max(den.squareRoot(), 1e-30)
    }
}

/// `avtool selftest abort`: rank 1 fails while rank 0 waits in a barrier; the job must end
/// promptly with a non-zero status (MPI_Abort), never hang.
struct SelfTestAbort: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abort", abstract: "Rank 1 throws; the whole job must end promptly with a non-zero status.")

    struct Failure: Error, CustomStringConvertible { var description: String { "rank 1 fails on purpose" } }

    func run() throws {
        try MPICommunicator.run { comm in
            if comm.rank == 1 {
                Thread.sleep(forTimeInterval: 0.2)
                throw Failure()
            }
            try comm.barrier()
            print("rank \(comm.rank)/\(comm.size): passed the barrier")
        }
    }
}
