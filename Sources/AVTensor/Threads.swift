import Dispatch
import Foundation

/// The per-process thread budget: how many threads this rank may use for its own parallel loops
/// and for BLAS. Set once at start-up (config `threads`, default 1 per rank under MPI).
public enum Threads {
    nonisolated(unsafe) private static var _count = 1

    /// Threads available to this process.
    public static var count: Int { _count }

    /// Sets the budget for our loops and for OpenBLAS.
    public static func set(_ n: Int) {
        _count = max(1, n)
        BLAS.threads = _count
    }

    /// Whether loops run on `WorkerPool` (polling workers) rather than Dispatch's
    /// `concurrentPerform` (A/B benchmarks; `AVTRAIN_WORKER_POOL=0` at start-up). Set between
    /// loops, not during one.
    nonisolated(unsafe) public static var usesWorkerPool = ProcessInfo.processInfo.environment["AVTRAIN_WORKER_POOL"] != "0"

    /// Runs `body(i)` for i in 0..<n, split into at most `count · chunksPerThread` contiguous
    /// chunks of at least `minChunk` (when n allows) that threads claim one at a time: more chunks
    /// per thread let a fast thread take over a slow one's share, where splitting costs little
    /// (no per-call packing). The split depends only on n and `count`, never on timing, so
    /// per-chunk partial sums stay deterministic. `body` must only touch disjoint memory per index.
    @inlinable
    public static func parallelFor(_ n: Int, minChunk: Int = 1, chunksPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = min(count * max(1, chunksPerThread), max(1, n / max(1, minChunk)))
        if chunks <= 1 || n <= 1 { body(0..<n); return }
        run(chunks: chunks) { c in
            let lo = n * c / chunks, hi = n * (c + 1) / chunks
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Runs `body(c)` for c in 0..<chunks on up to `count` threads: on the worker pool, or inline
    /// when a loop already holds it (a loop inside a loop's body, or started by another thread).
    @usableFromInline
    static func run(chunks: Int, _ body: (Int) -> Void) {
        if usesWorkerPool {
            if !WorkerPool.shared.run(chunks: chunks, threads: count, body) { for c in 0..<chunks { body(c) } }
            return
        }
        withoutActuallyEscaping(body) { b in
            let box = UncheckedBox(b)
            DispatchQueue.concurrentPerform(iterations: chunks) { box.value($0) }
        }
    }
}

extension Threads {
    /// Calls `body(i)` for every i in 0..<n, indices split into contiguous chunks over the thread
    /// budget (`body` must only touch disjoint memory per index).
    @inlinable
    public static func forEach(_ n: Int, minChunk: Int = 1, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            let each = UncheckedBox(body)
            parallelFor(n, minChunk: minChunk) { range in for i in range { each.value(i) } }
        }
    }
}

/// Wraps a non-Sendable value (pointers, closures) for use in `@Sendable` closures where the
/// caller guarantees disjoint access.
public struct UncheckedBox<T>: @unchecked Sendable {
    public let value: T
    @inlinable public init(_ value: T) { self.value = value }
}
