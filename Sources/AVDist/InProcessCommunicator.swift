import Foundation

/// Ranks as threads of one process, sharing a hub: for unit tests of distributed code without
/// MPI, and (with one rank) the single-process case of the training step.
///
/// Each collective posts this rank's buffer pointer to the hub, waits for all ranks, reads the
/// peers' buffers into a private result, waits again (so nobody overwrites a buffer a peer is
/// still reading), then writes its result. Reductions add ranks in rank order, so every rank
/// gets bit-identical results.
public final class InProcessCommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public var size: Int { hub.size }
    public var bucketElements: Int = 1 << 22
    /// Number of raw all-reduce calls this rank made (one per bucket).
    public private(set) var allReduceCalls = 0
    let hub: Hub

    init(rank: Int, hub: Hub) {
        self.rank = rank
        self.hub = hub
    }

    /// A communicator with one rank: every collective is a copy.
    public static func single() -> InProcessCommunicator {
        InProcessCommunicator(rank: 0, hub: Hub(size: 1))
    }

    /// Runs `body` on `size` threads, one per rank, and returns their results in rank order.
    /// If any rank throws, the job is aborted (the others' collectives throw
    /// `CommunicatorError.aborted`) and the first rank's own error is rethrown after all threads
    /// have ended.
    public static func run<T>(size: Int, _ body: @escaping (InProcessCommunicator) throws -> T) throws -> [T] {
        precondition(size >= 1, "InProcessCommunicator.run: size \(size) < 1")
        let hub = Hub(size: size)
        let results = ResultSlots<T>(size)
        let done = DispatchSemaphore(value: 0)
        for r in 0..<size {
            let thread = Thread {
                let comm = InProcessCommunicator(rank: r, hub: hub)
                do { results.set(r, .success(try body(comm))) } catch {
                    results.set(r, .failure(error))
                    hub.abort(reason: "rank \(r) failed: \(error)")
                }
                done.signal()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        for _ in 0..<size { done.wait() }
        let all = results.take()
        let failures = all.compactMap { r -> Error? in if case .failure(let e) = r { return e }; return nil }
        if let first = failures.first(where: { !($0 is CommunicatorError) }) ?? failures.first { throw first }
        return all.map { if case .success(let v) = $0 { return v }; fatalError("unreachable") }
    }

    public func allReduceSumRaw(_ p: UnsafeMutablePointer<Float>, count: Int) throws {
        allReduceCalls += 1
        try reduce(p, count: count)
    }

    public func allReduceSumRaw(_ p: UnsafeMutablePointer<Double>, count: Int) throws {
        allReduceCalls += 1
        try reduce(p, count: count)
    }

    public func broadcastRaw(_ p: UnsafeMutablePointer<Float>, count: Int, root: Int) throws {
        try hub.post(rank, UnsafeRawPointer(p))
        if rank != root {
            p.update(from: hub.slot(root).assumingMemoryBound(to: Float.self), count: count)
        }
        try hub.barrier(rank)
    }

    public func allGatherRaw(_ send: UnsafePointer<Float>, _ recv: UnsafeMutablePointer<Float>, count: Int) throws {
        try hub.post(rank, UnsafeRawPointer(send))
        for k in 0..<size {
            (recv + k * count).update(from: hub.slot(k).assumingMemoryBound(to: Float.self), count: count)
        }
        try hub.barrier(rank)
    }

    public func reduceScatterRaw(_ send: UnsafePointer<Float>, _ recv: UnsafeMutablePointer<Float>, count: Int) throws {
        try hub.post(rank, UnsafeRawPointer(send))
        let off = rank * count
        recv.update(from: hub.slot(0).assumingMemoryBound(to: Float.self) + off, count: count)
        for k in 1..<max(1, size) {
            let src = hub.slot(k).assumingMemoryBound(to: Float.self) + off
            for i in 0..<count { recv[i] += src[i] }
        }
        try hub.barrier(rank)
    }

    public func barrier() throws { try hub.barrier(rank) }

    public func abort(reason: String, code: Int32) { hub.abort(reason: "rank \(rank): \(reason) (code \(code))") }

    /// Sum over ranks, in rank order, into a private buffer; written back after all have read.
    private func reduce<S: FloatingPoint>(_ p: UnsafeMutablePointer<S>, count: Int) throws {
        try hub.post(rank, UnsafeRawPointer(p))
        let tmp = UnsafeMutablePointer<S>.allocate(capacity: max(1, count))
        defer { tmp.deallocate() }
        tmp.update(from: hub.slot(0).assumingMemoryBound(to: S.self), count: count)
        for k in 1..<max(1, size) {
            let src = hub.slot(k).assumingMemoryBound(to: S.self)
            for i in 0..<count { tmp[i] += src[i] }
        }
        try hub.barrier(rank)
        p.update(from: tmp, count: count)
    }

    /// Shared state of the ranks: posted pointers and a reusable barrier that an abort breaks.
    final class Hub: @unchecked Sendable {
        let size: Int
        private let cond = NSCondition()
        private var arrived = 0
        private var generation = 0
        private var abortReason: String?
        private let slots: UnsafeMutablePointer<UnsafeRawPointer?>

        init(size: Int) {
            self.size = size
            slots = .allocate(capacity: size)
            slots.initialize(repeating: nil, count: size)
        }
        deinit { slots.deallocate() }

        /// Publishes this rank's buffer and waits until every rank has published.
        func post(_ rank: Int, _ p: UnsafeRawPointer) throws {
            cond.lock(); slots[rank] = p; cond.unlock()
            try barrier(rank)
        }

        /// The pointer rank `k` posted for the current collective.
        func slot(_ k: Int) -> UnsafeRawPointer {
            cond.lock(); defer { cond.unlock() }
            return slots[k]!
        }

        func barrier(_ rank: Int) throws {
            cond.lock(); defer { cond.unlock() }
            if let reason = abortReason { throw CommunicatorError.aborted(rank: rank, reason: reason) }
            let gen = generation
            arrived += 1
            if arrived == size {
                arrived = 0
                generation += 1
                cond.broadcast()
                return
            }
            while generation == gen && abortReason == nil { cond.wait() }
            if generation == gen, let reason = abortReason {
                throw CommunicatorError.aborted(rank: rank, reason: reason)
            }
        }

        func abort(reason: String) {
            cond.lock()
            if abortReason == nil { abortReason = reason }
            cond.broadcast()
            cond.unlock()
        }
    }

    /// Per-rank results written by the rank threads.
    final class ResultSlots<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [Result<T, Error>?]
        init(_ n: Int) { items = Array(repeating: nil, count: n) }
        func set(_ i: Int, _ r: Result<T, Error>) { lock.lock(); items[i] = r; lock.unlock() }
        func take() -> [Result<T, Error>] { lock.lock(); defer { lock.unlock() }; return items.map { $0! } }
    }
}
