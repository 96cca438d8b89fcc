/// How an all-reduce combines the ranks' values.
public enum ReduceOp: Sendable {
    /// Element-wise sum over ranks.
    case sum
    /// Element-wise sum divided by the number of ranks.
    case mean
}

/// A failed or abandoned collective.
public enum CommunicatorError: Error, CustomStringConvertible {
    /// Buffer sizes that do not fit the collective (e.g. all-gather receive ≠ size × send).
    case badSize(call: String, detail: String)
    /// The job was aborted (by `abort` or by another rank's failure) while this rank waited.
    case aborted(rank: Int, reason: String)

    public var description: String {
        switch self {
        case let .badSize(call, detail): return "\(call): \(detail)"
        case let .aborted(rank, reason): return "rank \(rank): job aborted (\(reason))"
        }
    }
}

/// What a training step needs from its peers. Implemented over MPI (`AVMPI.MPICommunicator`)
/// and in-process (threads as ranks, `InProcessCommunicator`) for unit tests.
///
/// Every collective must be called by all ranks in the same order with matching sizes. The
/// primitives below are what an implementation provides; the bucketed, typed entry points
/// (`allReduce`, `allGather`, `reduceScatter`, `broadcast`) are extension methods over them, so
/// bucketing and size checks exist once.
public protocol Communicator: AnyObject {
    /// This process's rank, 0..<size.
    var rank: Int { get }
    /// Number of ranks.
    var size: Int { get }
    /// Largest number of elements one all-reduce or broadcast call moves; larger buffers go in
    /// consecutive buckets of this size.
    var bucketElements: Int { get set }

    /// In-place element-wise sum over all ranks of `count` floats (one call, no bucketing).
    func allReduceSumRaw(_ p: UnsafeMutablePointer<Float>, count: Int) throws
    /// In-place element-wise sum over all ranks of `count` doubles (one call, no bucketing).
    func allReduceSumRaw(_ p: UnsafeMutablePointer<Double>, count: Int) throws
    /// Copies `count` floats from `root` into `p` on every other rank (one call).
    func broadcastRaw(_ p: UnsafeMutablePointer<Float>, count: Int, root: Int) throws
    /// Concatenates every rank's `count` floats, in rank order, into `recv` (size × count).
    func allGatherRaw(_ send: UnsafePointer<Float>, _ recv: UnsafeMutablePointer<Float>, count: Int) throws
    /// Sums `send` (size × count floats) over ranks and leaves block `rank` of the sum in `recv`.
    func reduceScatterRaw(_ send: UnsafePointer<Float>, _ recv: UnsafeMutablePointer<Float>, count: Int) throws
    /// Starts an in-place sum over all ranks of `count` floats and returns a token; the sum is in
    /// `p` (which must stay untouched meanwhile) once `wait(token)` returns. Calls must be made by
    /// all ranks in the same order. (Default: done at once, blocking.)
    func startAllReduceSumRaw(_ p: UnsafeMutablePointer<Float>, count: Int) throws -> Int
    /// Lets started collectives progress (MPI_Test); cheap, call it between pieces of work.
    func progress() throws
    /// Waits for a collective started by `startAllReduceSumRaw`.
    func wait(_ token: Int) throws
    /// Waits until every rank has reached the barrier.
    func barrier() throws
    /// Ends the whole job because of `reason`. Under MPI this calls MPI_Abort and does not
    /// return; in-process it marks the job aborted, so every rank's pending and later
    /// collectives throw `CommunicatorError.aborted`.
    func abort(reason: String, code: Int32)
}

extension Communicator {
    /// Blocking fallback: the sum happens at start; `wait` has nothing to do.
    public func startAllReduceSumRaw(_ p: UnsafeMutablePointer<Float>, count: Int) throws -> Int {
        try allReduceSumRaw(p, count: count)
        return -1
    }
    public func progress() throws {}
    public func wait(_ token: Int) throws {}

    /// In-place all-reduce of `buf` in buckets of `bucketElements`.
    public func allReduce(_ buf: UnsafeMutableBufferPointer<Float>, op: ReduceOp = .sum) throws {
        guard let base = buf.baseAddress else { return }
        try forEachBucket(buf.count) { try allReduceSumRaw(base + $0, count: $1) }
        if op == .mean && size > 1 {
            let inv = 1 / Float(size)
            for i in 0..<buf.count { base[i] *= inv }
        }
    }

    /// In-place all-reduce of doubles in buckets of `bucketElements`.
    public func allReduce(_ buf: UnsafeMutableBufferPointer<Double>, op: ReduceOp = .sum) throws {
        guard let base = buf.baseAddress else { return }
        try forEachBucket(buf.count) { try allReduceSumRaw(base + $0, count: $1) }
        if op == .mean && size > 1 {
            let inv = 1 / Double(size)
            for i in 0..<buf.count { base[i] *= inv }
        }
    }

    /// In-place all-reduce of an array.
    public func allReduce(_ a: inout [Float], op: ReduceOp = .sum) throws {
        try a.withUnsafeMutableBufferPointer { try allReduce($0, op: op) }
    }

    /// In-place all-reduce of an array of doubles.
    public func allReduce(_ a: inout [Double], op: ReduceOp = .sum) throws {
        try a.withUnsafeMutableBufferPointer { try allReduce($0, op: op) }
    }

    /// Copies `buf` from `root` to every rank, in buckets of `bucketElements`.
    public func broadcast(_ buf: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        guard root >= 0 && root < size else {
            throw CommunicatorError.badSize(call: "broadcast", detail: "root \(root) outside 0..<\(size)")
        }
        guard let base = buf.baseAddress else { return }
        try forEachBucket(buf.count) { try broadcastRaw(base + $0, count: $1, root: root) }
    }

    /// Copies an array from `root` to every rank (same count everywhere).
    public func broadcast(_ a: inout [Float], root: Int) throws {
        try a.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    }

    /// All-gather of equal-sized blocks: `recv` (size × send.count) holds rank 0's block, then
    /// rank 1's, …
    public func allGather(_ send: UnsafeBufferPointer<Float>, into recv: UnsafeMutableBufferPointer<Float>) throws {
        try blocks("allGather", whole: recv.count, wholeName: "receive", block: send.count, send, recv) { try allGatherRaw($0, $1, count: send.count) }
    }

    /// All-gather returning a new array of size × send.count.
    public func allGather(_ send: [Float]) throws -> [Float] {
        var out = [Float](repeating: 0, count: size * send.count)
        try send.withUnsafeBufferPointer { s in try out.withUnsafeMutableBufferPointer { try allGather(s, into: $0) } }
        return out
    }

    /// Reduce-scatter (sum) of equal blocks: `send` holds size blocks of recv.count floats; rank r
    /// receives the sum over ranks of block r.
    public func reduceScatter(_ send: UnsafeBufferPointer<Float>, into recv: UnsafeMutableBufferPointer<Float>) throws {
        try blocks("reduceScatter", whole: send.count, wholeName: "send", block: recv.count, send, recv) { try reduceScatterRaw($0, $1, count: recv.count) }
    }

    /// Checks that the `whole` buffer holds `size` blocks of `block` floats, then runs the raw call
    /// (nothing to move when either buffer is empty).
    func blocks(_ call: String, whole: Int, wholeName: String, block: Int, _ send: UnsafeBufferPointer<Float>,
                _ recv: UnsafeMutableBufferPointer<Float>, _ raw: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) throws -> Void) throws {
        guard whole == size * block else {
            throw CommunicatorError.badSize(call: call, detail: "\(wholeName) \(whole) floats ≠ \(size) ranks × \(block)")
        }
        guard let s = send.baseAddress, let r = recv.baseAddress else { return }
        try raw(s, r)
    }

    /// Reduce-scatter returning this rank's summed block.
    public func reduceScatter(_ send: [Float]) throws -> [Float] {
        guard send.count % size == 0 else {
            throw CommunicatorError.badSize(call: "reduceScatter", detail: "send \(send.count) floats not divisible by \(size) ranks")
        }
        var out = [Float](repeating: 0, count: send.count / size)
        try send.withUnsafeBufferPointer { s in try out.withUnsafeMutableBufferPointer { try reduceScatter(s, into: $0) } }
        return out
    }

    /// Runs `body(offset, count)` over consecutive buckets of at most `bucketElements`.
    @usableFromInline
    func forEachBucket(_ total: Int, _ body: (Int, Int) throws -> Void) throws {
        let bucket = max(1, min(bucketElements, Int(Int32.max)))
        var off = 0
        while off < total {
            let n = min(bucket, total - off)
            try body(off, n)
            off += n
        }
    }
}
