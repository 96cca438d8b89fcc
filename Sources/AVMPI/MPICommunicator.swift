import CMPI
import AVDist
import Foundation

/// `Communicator` over MPI_COMM_WORLD. Every failing MPI call becomes an `MPIError` naming the
/// call (MPI_COMM_WORLD returns errors instead of aborting, see `MPIRuntime.initialize`).
/// Every collective is non-blocking underneath and bounded by `timeoutSeconds` (`CollectiveWatchdog`).
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
    /// Bounds every collective by `timeoutSeconds` and names a silent peer (CollectiveWatchdog.swift).
    let watchdog: CollectiveWatchdog
    /// `[dist] timeout_s`'s default: how long any collective may wait for a peer.
    public static let defaultTimeoutSeconds = 300.0

    /// Seconds any collective may wait before the job gives up on a silent peer.
    public var timeoutSeconds: Double {
        get { watchdog.timeout }
        set { watchdog.timeout = newValue }
    }

    /// The host name of rank `r` (gathered at start).
    public func host(ofRank r: Int) -> String { watchdog.host(r) }

    /// The world communicator; initialises MPI if needed and gathers every rank's host name.
    public init(timeoutSeconds: Double = MPICommunicator.defaultTimeoutSeconds) throws {
        try MPIRuntime.initialize()
        rank = MPIRuntime.worldRank
        size = MPIRuntime.worldSize
        watchdog = try CollectiveWatchdog(rank: rank, size: size, timeout: timeoutSeconds)
    }

    /// Initialises MPI, runs `body` with the world communicator and finalises. If `body` throws
    /// on any rank, that rank prints the error to stderr and calls MPI_Abort, which ends every
    /// rank of the job promptly with a non-zero status instead of leaving peers blocked in a
    /// collective. A `CollectiveTimeout` has printed its line already: the job is aborted at once.
    public static func run<T>(timeoutSeconds: Double = MPICommunicator.defaultTimeoutSeconds,
                              _ body: (MPICommunicator) throws -> T) throws -> T {
        let comm = try MPICommunicator(timeoutSeconds: timeoutSeconds)
        do {
            let result = try body(comm)
            comm.watchdog.close()
            MPIRuntime.finalize()
            return result
        } catch let timeout as CollectiveTimeout {
            MPI_Abort(avmpi_comm_world(), 1)
            fputs("avtrain: MPI_Abort returned after \(timeout); exiting\n", stderr)
            exit(1)
        } catch {
            comm.abort(reason: "\(error)", code: 1)
            fputs("avtrain: MPI_Abort returned; exiting\n", stderr)
            exit(1)
        }
    }

    public func allReduceSumRaw(_ p: UnsafeMutablePointer<Float>, count: Int) throws {
        allReduceCalls += 1
        let n = try int32(count, "MPI_Iallreduce")
        try bounded("MPI_Iallreduce") { MPI_Iallreduce(avmpi_in_place(), p, n, avmpi_float(), avmpi_sum(), avmpi_comm_world(), &$0) }
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
        try watchdog.wait(&r, call: "MPI_Iallreduce")
    }

    public func allReduceSumRaw(_ p: UnsafeMutablePointer<Double>, count: Int) throws {
        allReduceCalls += 1
        let n = try int32(count, "MPI_Iallreduce")
        try bounded("MPI_Iallreduce") { MPI_Iallreduce(avmpi_in_place(), p, n, avmpi_double(), avmpi_sum(), avmpi_comm_world(), &$0) }
    }

    public func broadcastRaw(_ p: UnsafeMutablePointer<Float>, count: Int, root: Int) throws {
        let n = try int32(count, "MPI_Ibcast")
        try bounded("MPI_Ibcast") { MPI_Ibcast(p, n, avmpi_float(), Int32(root), avmpi_comm_world(), &$0) }
    }

    public func allGatherRaw(_ send: UnsafePointer<Float>, _ recv: UnsafeMutablePointer<Float>, count: Int) throws {
        let n = try int32(count, "MPI_Iallgather")
        try bounded("MPI_Iallgather") { MPI_Iallgather(send, n, avmpi_float(), recv, n, avmpi_float(), avmpi_comm_world(), &$0) }
    }

    public func reduceScatterRaw(_ send: UnsafePointer<Float>, _ recv: UnsafeMutablePointer<Float>, count: Int) throws {
        let n = try int32(count, "MPI_Ireduce_scatter_block")
        try bounded("MPI_Ireduce_scatter_block") {
            MPI_Ireduce_scatter_block(send, recv, n, avmpi_float(), avmpi_sum(), avmpi_comm_world(), &$0)
        }
    }

    public func barrier() throws {
        try bounded("MPI_Ibarrier") { MPI_Ibarrier(avmpi_comm_world(), &$0) }
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
