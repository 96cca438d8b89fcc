/// What a training step needs from its peers. Implemented over MPI (`AVMPI.MPICommunicator`)
/// and in-process (threads as ranks) for unit tests.
public protocol Communicator: AnyObject {
    /// This process's rank, 0..<size.
    var rank: Int { get }
    /// Number of ranks.
    var size: Int { get }
}
