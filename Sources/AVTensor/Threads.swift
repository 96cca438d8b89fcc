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

    /// Runs `body(i)` for i in 0..<n in the contiguous chunks of `chunkBounds`, which threads
    /// claim one at a time. `body` must only touch disjoint memory per index.
    @inlinable
    public static func parallelFor(_ n: Int, minChunk: Int = 1, chunksPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
        forEachChunk(chunkBounds(n, minChunk: minChunk, chunksPerThread: chunksPerThread)) { _, range in body(range) }
    }

    /// Runs `body(c, bounds[c]..<bounds[c + 1])` for every chunk c of `bounds` (from
    /// `chunkBounds`), threads claiming chunks one at a time: for loops that keep a partial sum
    /// per chunk. One chunk runs inline.
    @inlinable
    public static func forEachChunk(_ bounds: [Int], _ body: (Int, Range<Int>) -> Void) {
        let chunks = bounds.count - 1
        if chunks <= 1 { if chunks == 1 { body(0, bounds[0]..<bounds[1]) }; return }
        bounds.withUnsafeBufferPointer { b in
            let b = UncheckedBox(b)
            run(chunks: chunks) { c in body(c, b.value[c]..<b.value[c + 1]) }
        }
    }

    /// Where `parallelFor` splits 0..<n: up to `chunksPerThread` rounds of `count` chunks, each
    /// round taking half of what is left, and a last round splitting the rest evenly, stopping
    /// early where a chunk would fall below `minChunk` (then fewer than `count` chunks if n is
    /// small). With one round: `count` equal chunks. With more, the last chunks (the ones the
    /// other threads wait for) are the smallest, so threads finish together while most work
    /// still goes in large chunks; for splits that cost little (no per-call packing). The split
    /// depends only on its arguments and `count`, never on timing, so per-chunk partial sums
    /// stay deterministic. Returns the chunk boundaries, 0 first and n last.
    @inlinable
    public static func chunkBounds(_ n: Int, minChunk: Int = 1, chunksPerThread: Int = 1) -> [Int] {
        let m = max(1, minChunk), rounds = max(1, chunksPerThread)
        var bounds = [0], lo = 0
        for round in 0..<rounds {
            let left = n - lo, half = left / (2 * count)
            if round == rounds - 1 || half < m {
                let k = max(1, min(count, left / m))
                for c in 1...k { bounds.append(lo + left * c / k) }
                break
            }
            for _ in 0..<count { lo += half; bounds.append(lo) }
        }
        return bounds
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
