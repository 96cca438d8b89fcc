import Dispatch

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

    /// Runs `body(i)` for i in 0..<n, split into at most `count` contiguous chunks.
    /// `body` must only touch disjoint memory per index.
    @inlinable
    public static func parallelFor(_ n: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = min(count, max(1, n / max(1, minChunk)))
        if chunks <= 1 || n <= 1 { body(0..<n); return }
        withoutActuallyEscaping(body) { b in
            let box = UncheckedBox(b)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = n * c / chunks, hi = n * (c + 1) / chunks
                if lo < hi { box.value(lo..<hi) }
            }
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
