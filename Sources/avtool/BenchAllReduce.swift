import Foundation
import ArgumentParser
import AVDist
import AVMPI

/// `avtool bench allreduce` (under mpirun): time of one float all-reduce, exactly as the trainer
/// makes it (MPICommunicator: MPI_Iallreduce completed under the collective watchdog), against
/// the message size, and the α–β fit of docs/distributed.md: t(n) = 2(R−1)·α + 2(R−1)/R · n·β
/// (ring all-reduce: 2(R−1) latency-bound steps, each rank sends and receives 2(R−1)/R of the
/// n bytes): α from the smallest message, β from the slope between the two largest.
struct BenchAllReduce: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "allreduce",
        abstract: "All-reduce time vs message size under mpirun, and the fitted latency α and inverse bandwidth β.")

    @Option(help: "Message sizes in bytes (comma-separated, multiples of 4).")
    var sizes = "4,64,1024,16384,65536,262144,1048576,4194304,16777216"
    @Option(help: "Timed repetitions per size (after 2 warm-up ones); the median is reported.") var reps = 10
    @Option(help: "Collective timeout in seconds ([dist] timeout_s).") var timeout = 300.0

    func validate() throws {
        guard (1...10_000).contains(reps), timeout >= 1 else { throw ValidationError("--reps 1...10000, --timeout ≥ 1") }
        guard !byteSizes.isEmpty else { throw ValidationError("--sizes: comma-separated positive multiples of 4 up to 1 GiB, got \(sizes)") }
    }

    var byteSizes: [Int] {
        let v = sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard v.count == sizes.split(separator: ",").count, v.allSatisfy({ $0 >= 4 && $0 % 4 == 0 && $0 <= 1 << 30 }) else { return [] }
        return v
    }

    func run() throws {
        try MPICommunicator.run(timeoutSeconds: timeout) { comm in
            let r = comm.size
            guard r >= 2 else { throw ValidationError("run under mpirun with ≥ 2 ranks (e.g. Launch/testbed/hosts.sh mpirun PREFIX -n 2 -- avtool bench allreduce)") }
            let hosts = Set((0..<r).map(comm.host(ofRank:))).count
            if comm.rank == 0 {
                print("all-reduce (MPI_Iallreduce, float sum) over \(r) ranks on \(hosts) host(s); median of \(reps) after 2 warm-up")
                print("      bytes    median µs       min µs   bus GB/s")
            }
            var points: [(n: Double, t: Double)] = []
            for bytes in byteSizes {
                let count = bytes / 4
                let buf = UnsafeMutablePointer<Float>.allocate(capacity: count)
                defer { buf.deallocate() }
                buf.initialize(repeating: Float(comm.rank), count: count)
                var times: [Double] = []
                for i in 0..<(reps + 2) {
                    try comm.barrier()
                    let start = DispatchTime.now().uptimeNanoseconds
                    try comm.allReduceSumRaw(buf, count: count)
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    if i >= 2 { times.append(seconds) }
                }
                // Every rank's median, the slowest one counts (the collective ends when all have it).
                var med = [times.sorted()[times.count / 2]]
                var all = [Double](repeating: 0, count: r)
                all[comm.rank] = med[0]
                try comm.allReduce(&all)
                med[0] = all.max() ?? med[0]
                points.append((Double(bytes), med[0]))
                if comm.rank == 0 {
                    let bus = 2 * Double(r - 1) / Double(r) * Double(bytes) / med[0] / 1e9
                    print(String(format: "%11d  %11.1f  %11.1f  %9.3f", bytes, med[0] * 1e6, (times.min() ?? 0) * 1e6, bus))
                }
            }
            if comm.rank == 0, let (a, b) = Self.fit(points) {
                let steps = 2 * Double(r - 1), share = 2 * Double(r - 1) / Double(r)
                let alpha = a / steps, beta = b / share
                print(String(format: "fit t(n) = %.1f µs + n × %.4f ns/B  →  α = %.1f µs per step, β = %.4f ns/B (%.2f Gbit/s per link)",
                             a * 1e6, b * 1e9, alpha * 1e6, beta * 1e9, beta > 0 ? 8 / beta / 1e9 : .infinity))
            }
        }
    }

    /// t = a + b·n from the two regimes: a = the time of the smallest message (latency-bound),
    /// b = the slope between the two largest (bandwidth-bound); nil with fewer than 3 sizes.
    static func fit(_ p: [(n: Double, t: Double)]) -> (Double, Double)? {
        let s = p.sorted { $0.n < $1.n }
        guard s.count >= 3, let small = s.first else { return nil }
        let (x, y) = (s[s.count - 2], s[s.count - 1])
        guard y.n > x.n else { return nil }
        return (small.t, max(0, (y.t - x.t) / (y.n - x.n)))
    }
}
