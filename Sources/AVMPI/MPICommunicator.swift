import CMPI
import AVDist
import Foundation

/// `Communicator` over MPI_COMM_WORLD. Every failing MPI call becomes an `MPIError` naming the
/// call (MPI_COMM_WORLD returns errors instead of aborting, see `MPIRuntime.initialize`).
/// Only the thread that initialised MPI may use it (thread level FUNNELED).
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public var bucketElements: Int = 1 << 22
    /// Number of raw all-reduce calls made (one per bucket).
    public private(set) var allReduceCalls = 0
    /// Requests of started non-blocking all-reduces, by token.
    private var requests: [Int: MPI_Request?] = [:]
    private var nextToken = 0

    /// The world communicator; initialises MPI if needed.
    public init() throws {
        try MPIRuntime.initialize()
        rank = MPIRuntime.worldRank
        size = MPIRuntime.worldSize
    }

    /// Initialises MPI, runs `body` with the world communicator and finalises. If `body` throws
    /// on any rank, that rank prints the error to stderr and calls MPI_Abort, which ends every
    /// rank of the job promptly with a non-zero status instead of leaving peers blocked in a
    /// collective.
    public static func run<T>(_ body: (MPICommunicator) throws -> T) throws -> T {
        let comm = try MPICommunicator()
        do {
            let result = try body(comm)
            MPIRuntime.finalize()
            return result
        } catch {
            comm.abort(reason: "\(error)", code: 1)
            fatalError("MPI_Abort returned")
        }
    }

    public func allReduceSumRaw(_ p: UnsafeMutablePointer<Float>, count: Int) throws {
        allReduceCalls += 1
        try MPIRuntime.check("MPI_Allreduce", MPI_Allreduce(avmpi_in_place(), p, try int32(count, "MPI_Allreduce"),
                                                            avmpi_float(), avmpi_sum(), avmpi_comm_world()))
    }

    /// MPI_Iallreduce in place; `wait` completes it (MPI_Wait), `progress` tests every pending one.
    public func startAllReduceSumRaw(_ p: UnsafeMutablePointer<Float>, count: Int) throws -> Int {
        allReduceCalls += 1
        var request: MPI_Request?
        try MPIRuntime.check("MPI_Iallreduce", MPI_Iallreduce(avmpi_in_place(), p, try int32(count, "MPI_Iallreduce"), avmpi_float(),
                                                              avmpi_sum(), avmpi_comm_world(), &request))
        guard let request else { throw CommunicatorError.badSize(call: "MPI_Iallreduce", detail: "no request returned") }
        nextToken += 1
        requests[nextToken] = request
        return nextToken
    }

    public func progress() throws {
        for token in requests.keys.sorted() {
            var r = requests[token] ?? nil
            guard r != nil else { continue }
            var flag: Int32 = 0
            try MPIRuntime.check("MPI_Test", MPI_Test(&r, &flag, nil))
            requests[token] = r
        }
    }

    public func wait(_ token: Int) throws {
        var r = requests.removeValue(forKey: token) ?? nil
        guard r != nil else { return }
        try MPIRuntime.check("MPI_Wait", MPI_Wait(&r, nil))
    }

    public func allReduceSumRaw(_ p: UnsafeMutablePointer<Double>, count: Int) throws {
        allReduceCalls += 1
        try MPIRuntime.check("MPI_Allreduce", MPI_Allreduce(avmpi_in_place(), p, try int32(count, "MPI_Allreduce"),
                                                            avmpi_double(), avmpi_sum(), avmpi_comm_world()))
    }

    public func broadcastRaw(_ p: UnsafeMutablePointer<Float>, count: Int, root: Int) throws {
        try MPIRuntime.check("MPI_Bcast", MPI_Bcast(p, try int32(count, "MPI_Bcast"), avmpi_float(), Int32(root),
                                                    avmpi_comm_world()))
    }

    public func allGatherRaw(_ send: UnsafePointer<Float>, _ recv: UnsafeMutablePointer<Float>, count: Int) throws {
        let n = try int32(count, "MPI_Allgather")
        try MPIRuntime.check("MPI_Allgather", MPI_Allgather(send, n, avmpi_float(), recv, n, avmpi_float(),
                                                            avmpi_comm_world()))
    }

    public func reduceScatterRaw(_ send: UnsafePointer<Float>, _ recv: UnsafeMutablePointer<Float>, count: Int) throws {
        try MPIRuntime.check("MPI_Reduce_scatter_block",
                             MPI_Reduce_scatter_block(send, recv, try int32(count, "MPI_Reduce_scatter_block"),
                                                      avmpi_float(), avmpi_sum(), avmpi_comm_world()))
    }

    public func barrier() throws {
        try MPIRuntime.check("MPI_Barrier", MPI_Barrier(avmpi_comm_world()))
    }

    /// Prints the reason to stderr and calls MPI_Abort: mpirun then kills every rank. Never returns.
    public func abort(reason: String, code: Int32) {
        FileHandle.standardError.write(Data("rank \(rank)/\(size): aborting the job: \(reason)\n".utf8))
        MPI_Abort(avmpi_comm_world(), code)
        exit(code)
    }

    private func int32(_ n: Int, _ call: String) throws -> Int32 {
        guard n >= 0 && n <= Int(Int32.max) else {
            throw CommunicatorError.badSize(call: call, detail: "\(n) elements exceed MPI's Int32 count")
        }
        return Int32(n)
    }
}
