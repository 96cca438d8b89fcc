import AVTensor

/// The SUM all-reduce of a flat gradient buffer, overlapped with the backward pass: the buffer
/// is cut into buckets of `bucketElements` from its end, and each bucket is handed to a
/// non-blocking all-reduce as soon as backward has finished every parameter in it. Parameters
/// are laid out in forward order, so backward finishes them from the end of the buffer down;
/// `ready(from:)` says "every gradient at offset ≥ this is final". `finish()` reduces what is
/// left and waits for all. Every rank cuts the same buckets and starts them in the same order, as
/// MPI requires; the sums are the same bytes as one blocking all-reduce of the buffer.
public final class OverlappedAllReduce {
    public let comm: Communicator
    let base: UnsafeMutablePointer<Float>
    /// Bucket ranges in start order (highest offsets first).
    public let buckets: [Range<Int>]
    var next = 0
    var tokens: [Int] = []
    var failure: Error?
    /// Seconds spent waiting in `finish` (the communication the backward pass did not hide).
    public private(set) var waitSeconds = 0.0

    public init(comm: Communicator, buffer: UnsafeMutableBufferPointer<Float>, bucketElements: Int) {
        self.comm = comm
        base = buffer.baseAddress ?? UnsafeMutablePointer<Float>.allocate(capacity: 1)
        var b: [Range<Int>] = []
        var end = buffer.count
        let size = max(1, bucketElements)
        while end > 0 {
            b.append(max(0, end - size)..<end)
            end -= size
        }
        buckets = b
    }

    /// Backward has finished every gradient at `offset` and above: start the buckets that holds
    /// whole. (Not throwing, so it can be a model callback; an error is rethrown by `finish`.)
    public func ready(from offset: Int) {
        guard failure == nil else { return }
        do {
            while next < buckets.count && buckets[next].lowerBound >= offset {
                let r = buckets[next]
                tokens.append(try comm.startAllReduceSumRaw(base + r.lowerBound, count: r.count))
                next += 1
            }
            try comm.progress()
        } catch { failure = error }
    }

    /// Reduces the buckets not started yet (blocking: nothing is left to overlap them with, and
    /// the blocking collective is the faster one for what remains), waits for the started ones,
    /// and readies for the next step.
    public func finish() throws {
        let watch = Stopwatch()
        defer { next = 0; tokens.removeAll(); waitSeconds += watch.seconds }
        if let failure { self.failure = nil; throw failure }
        while next < buckets.count {
            let r = buckets[next]
            try comm.allReduceSumRaw(base + r.lowerBound, count: r.count)
            next += 1
        }
        for t in tokens { try comm.wait(t) }
    }
}
