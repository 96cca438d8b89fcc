import CMPI
import AVDist
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Bounds every wait of `MPICommunicator` by a timeout and names the peer that went silent.
///
/// Collectives are started non-blocking and completed by polling MPI_Test until they are done or
/// `timeout` seconds have passed. A wait that lasts longer than `interval` starts heartbeats:
/// 4-word messages to every peer on a private duplicate of MPI_COMM_WORLD, recorded by every
/// rank that is itself waiting (a live peer is stuck in the same or the next collective, so it
/// keeps sending them; a dead or cut-off one does not). Fast collectives send nothing.
///
/// At the deadline the peers not heard from during the last half of the timeout are the silent
/// ones. The rank prints one line (`CollectiveTimeout`), tells the other live peers that it gives
/// up (so each of them prints its own line at once), lingers `grace` seconds for those messages
/// to leave and throws; `MPICommunicator.run` then calls MPI_Abort.
final class CollectiveWatchdog {
    let rank: Int
    let size: Int
    /// Seconds a wait may last.
    var timeout: Double
    /// Host name of every rank (gathered at start).
    private(set) var hosts: [String] = []
    private var comm: MPI_Comm?
    private var recvs: [MPI_Request?]
    private var sends: [MPI_Request?]
    private let recvBuf: UnsafeMutablePointer<Int64>
    private let sendBuf: UnsafeMutablePointer<Int64>
    private var lastHeard: [Double]
    /// A peer's "I give up" message: (from rank, silent rank or -1, its wait in ms).
    private var verdict: (from: Int, silent: Int64, millis: Int64)?
    private static let tag: Int32 = 7301
    private static let words = 4
    private static let alive: Int64 = 1, givingUp: Int64 = 2

    /// Seconds between heartbeats, and how long a wait lasts before the first one.
    var interval: Double { min(10, max(0.05, timeout / 10)) }
    /// Seconds a rank that gives up keeps its messages moving before it throws.
    var grace: Double { min(2, max(0.2, timeout / 10)) }

    /// Duplicates MPI_COMM_WORLD for heartbeats, posts a receive for every peer and gathers the
    /// host names (a collective: every rank constructs its watchdog together).
    init(rank: Int, size: Int, timeout: Double) throws {
        self.rank = rank
        self.size = size
        self.timeout = timeout
        recvs = Array(repeating: avmpi_request_null(), count: size)
        sends = Array(repeating: avmpi_request_null(), count: size)
        recvBuf = .allocate(capacity: size * Self.words)
        recvBuf.initialize(repeating: 0, count: size * Self.words)
        sendBuf = .allocate(capacity: 2 * size * Self.words)
        sendBuf.initialize(repeating: 0, count: 2 * size * Self.words)
        lastHeard = Array(repeating: Self.now(), count: size)
        var dup: MPI_Comm?
        try MPIRuntime.check("MPI_Comm_dup", MPI_Comm_dup(avmpi_comm_world(), &dup))
        try MPIRuntime.check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(dup, avmpi_errors_return()))
        comm = dup
        for p in 0..<size where p != rank { try postReceive(from: p) }
        hosts = try gatherHostNames()
    }

    deinit {
        recvBuf.deallocate()
        sendBuf.deallocate()
    }

    /// The host name of `rank` ("?" outside 0..<size).
    func host(_ r: Int) -> String { r >= 0 && r < hosts.count ? hosts[r] : "?" }

    /// Completes `request` (started by `call`), or throws `CollectiveTimeout` after `timeout` s.
    /// Spins (yielding the core) for the first second, then sleeps 1 ms between tests.
    func wait(_ request: inout MPI_Request?, call: String) throws {
        var done: Int32 = 0
        try MPIRuntime.check(call, MPI_Test(&request, &done, nil))
        if done != 0 { return }
        let begin = Self.now()
        var nextBeat = begin + interval, nextPoll = begin + 0.01
        while true {
            try MPIRuntime.check(call, MPI_Test(&request, &done, nil))
            if done != 0 { return }
            let t = Self.now(), waited = t - begin
            if t >= nextPoll {
                try pollHeartbeats(at: t)
                nextPoll = t + 0.01
                if let v = verdict { throw report(call: call, silent: v.silent >= 0 ? Int(v.silent) : nil,
                                                  seconds: Double(v.millis) / 1000, by: v.from) }
            }
            if t >= nextBeat {
                try send(kind: Self.alive, silent: -1, waited: waited, skipping: [])
                nextBeat = t + interval
            }
            if waited >= timeout { throw try giveUp(call: call, waited: waited, at: t) }
            if waited < 1 { sched_yield() } else { usleep(1000) }
        }
    }

    /// Cancels the pending heartbeat receives (before MPI_Finalize).
    func close() {
        for p in 0..<size where p != rank {
            guard pending(recvs[p]) else { continue }
            MPI_Cancel(&recvs[p])
            MPI_Wait(&recvs[p], nil)
        }
        for p in 0..<size where pending(sends[p]) { MPI_Wait(&sends[p], nil) }
        if comm != nil { MPI_Comm_free(&comm) }
        comm = nil
    }

    // MARK: - Heartbeats

    private func giveUp(call: String, waited: Double, at t: Double) throws -> CollectiveTimeout {
        let silent = (0..<size).filter { $0 != rank && t - lastHeard[$0] > timeout / 2 }
        let line = report(call: call, silent: silent.first, seconds: waited, by: nil)
        try send(kind: Self.givingUp, silent: Int64(silent.first ?? -1), waited: waited, skipping: Set(silent))
        let end = Self.now() + grace
        while Self.now() < end {
            try pollHeartbeats(at: Self.now())
            for p in 0..<size where pending(sends[p]) {
                var done: Int32 = 0
                MPI_Test(&sends[p], &done, nil)
            }
            usleep(1000)
        }
        return line
    }

    /// Prints the line of this rank's verdict (at once: the job may be killed any moment now).
    private func report(call: String, silent: Int?, seconds: Double, by: Int?) -> CollectiveTimeout {
        let e = CollectiveTimeout(rank: rank, host: host(rank), silentRank: silent, silentHost: silent.map(host),
                                  seconds: seconds, call: call, step: CollectiveContext.step, reportedBy: by)
        FileHandle.standardError.write(Data((e.description + "\n").utf8))
        return e
    }

    /// Sends a heartbeat (kind alive: to every peer whose previous one has left) or the "giving
    /// up" message (to every peer not in `skipping`; its request is freed and completes on its own).
    private func send(kind: Int64, silent: Int64, waited: Double, skipping: Set<Int>) throws {
        for p in 0..<size where p != rank && !skipping.contains(p) {
            let slot = kind == Self.alive ? 0 : 1
            if slot == 0 && pending(sends[p]) {
                var done: Int32 = 0
                try MPIRuntime.check("MPI_Test (heartbeat send)", MPI_Test(&sends[p], &done, nil))
                if done == 0 { continue }
            }
            let m = sendBuf + (2 * p + slot) * Self.words
            m[0] = kind; m[1] = silent; m[2] = Int64(min(waited * 1000, 1e15)); m[3] = 0
            var r: MPI_Request?
            try MPIRuntime.check("MPI_Isend (heartbeat)", MPI_Isend(m, Int32(Self.words), avmpi_int64(), Int32(p), Self.tag, comm, &r))
            if slot == 0 { sends[p] = r ?? avmpi_request_null() } else if pending(r) { MPI_Request_free(&r) }
        }
    }

    /// Whether `r` is a pending request (not MPI_REQUEST_NULL).
    private func pending(_ r: MPI_Request?) -> Bool { r != nil && r != avmpi_request_null() }

    /// Records every heartbeat that has arrived and posts the next receive.
    private func pollHeartbeats(at t: Double) throws {
        for p in 0..<size where p != rank {
            var got: Int32 = 0
            while pending(recvs[p]) {
                try MPIRuntime.check("MPI_Test (heartbeat receive)", MPI_Test(&recvs[p], &got, nil))
                guard got != 0 else { break }
                lastHeard[p] = t
                let m = recvBuf + p * Self.words
                if m[0] == Self.givingUp && verdict == nil { verdict = (p, m[1], m[2]) }
                try postReceive(from: p)
            }
        }
    }

    private func postReceive(from p: Int) throws {
        var r: MPI_Request?
        try MPIRuntime.check("MPI_Irecv (heartbeat)", MPI_Irecv(recvBuf + p * Self.words, Int32(Self.words), avmpi_int64(),
                                                                Int32(p), Self.tag, comm, &r))
        recvs[p] = r ?? avmpi_request_null()
    }

    /// Every rank's host name (up to 63 bytes), by a bounded all-gather.
    private func gatherHostNames() throws -> [String] {
        let width = 64
        let mine = UnsafeMutablePointer<CChar>.allocate(capacity: width)
        let all = UnsafeMutablePointer<CChar>.allocate(capacity: width * size)
        defer { mine.deallocate(); all.deallocate() }
        mine.initialize(repeating: 0, count: width)
        all.initialize(repeating: 0, count: width * size)
        gethostname(mine, width - 1)
        var request: MPI_Request?
        try MPIRuntime.check("MPI_Iallgather", MPI_Iallgather(mine, Int32(width), avmpi_byte(), all, Int32(width), avmpi_byte(),
                                                              avmpi_comm_world(), &request))
        try wait(&request, call: "MPI_Iallgather")
        return (0..<size).map { String(cString: all + $0 * width) }
    }

    /// Monotonic seconds.
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}

extension MPICommunicator {
    /// Starts a non-blocking collective (`start` fills in the request) and completes it under the
    /// watchdog: an MPIError if MPI fails, a `CollectiveTimeout` after `timeoutSeconds`.
    func bounded(_ call: String, _ start: (inout MPI_Request?) -> Int32) throws {
        var request: MPI_Request?
        try MPIRuntime.check(call, start(&request))
        try watchdog.wait(&request, call: call)
    }
}
