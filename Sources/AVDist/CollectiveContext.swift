/// What the process is doing when it enters a collective, for the messages of a communicator
/// that gives up on a silent peer (`MPICommunicator`'s collective timeout). The trainer sets the
/// step; nothing else depends on it.
public enum CollectiveContext {
    /// The training step in progress (1-based as the progress lines print it), or nil outside
    /// training (set-up, tools).
    nonisolated(unsafe) public static var step: Int?
}
