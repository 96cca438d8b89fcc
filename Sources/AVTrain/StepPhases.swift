import AVTensor

/// Where a rank's training time goes (seconds, summed over this session's steps): waiting for
/// the loader, the encoder forward (+ EMA teacher), the objective (with its collectives), the
/// encoder backward, waiting for gradient all-reduces after backward, and the optimiser (norm,
/// clipping, update, EMA). `summary.json` reports them as `phase_seconds` and `phase_shares`.
public struct StepPhases: Sendable {
    public var data = 0.0, forward = 0.0, objective = 0.0, backward = 0.0, allReduceWait = 0.0, optimizer = 0.0

    /// (name, seconds) in step order.
    public var named: [(String, Double)] {
        [("data_wait", data), ("forward", forward), ("objective", objective), ("backward", backward),
         ("allreduce_wait", allReduceWait), ("optimizer", optimizer)]
    }
}

/// Times consecutive phases: each `lap` returns the seconds since the previous one.
struct PhaseClock {
    var last = Stopwatch()
    mutating func lap() -> Double {
        let s = last.seconds
        last = Stopwatch()
        return s
    }
}
