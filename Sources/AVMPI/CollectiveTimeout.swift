import Foundation

/// A collective that did not complete within `[dist] timeout_s`: the one line every surviving
/// rank prints before the job is aborted, naming the rank (and host) that stopped answering.
public struct CollectiveTimeout: Error, CustomStringConvertible {
    /// The rank that gives up, and its host name.
    public let rank: Int
    public let host: String
    /// The first rank that sent no heartbeat during the last half of the timeout (nil: every
    /// peer answered, so a rank is busy outside a collective for longer than the timeout).
    public let silentRank: Int?
    public let silentHost: String?
    /// How long the giving-up rank waited.
    public let seconds: Double
    /// The MPI call that did not complete, e.g. "MPI_Iallreduce".
    public let call: String
    /// The training step (`CollectiveContext.step`), if training.
    public let step: Int?
    /// The rank whose verdict this rank repeats (nil: its own).
    public let reportedBy: Int?

    public var description: String {
        let whom = silentRank.map { "rank \($0) (host \(silentHost ?? "?"))" }
            ?? "a peer (every rank answers heartbeats: one is busy outside a collective for longer than the timeout)"
        let at = step.map { " at step \($0)" } ?? ""
        let via = reportedBy.map { " (rank \($0) gave up first)" } ?? ""
        return "avtrain: rank \(rank) (host \(host)): no answer from \(whom) for \(String(format: "%.1f", seconds)) s in \(call)"
            + "\(at)\(via); giving up (see [dist] timeout_s)"
    }
}
