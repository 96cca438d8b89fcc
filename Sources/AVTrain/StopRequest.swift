import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT, SIGTERM and SIGUSR1 (Ctrl-C, SLURM preemption, `scancel`) ask the run to stop: the
/// current step finishes, every rank agrees on the step to stop at, a checkpoint is written and
/// avtrain exits with status `StopRequest.exitStatus`. A second SIGINT exits at once (status 130).
public enum StopRequest {
    /// Exit status of a run stopped by a signal after writing its checkpoint.
    public static let exitStatus: Int32 = 3
    nonisolated(unsafe) static var signalNumber: Int32 = 0

    /// Installs the handlers (once, at start-up).
    public static func install() {
        for s in [SIGINT, SIGTERM, SIGUSR1] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in
                if StopRequest.signalNumber != 0 && sig == SIGINT { _exit(130) }
                StopRequest.signalNumber = sig
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(s, &action, nil)
        }
    }

    /// The signal received, or 0.
    public static var pending: Int32 { signalNumber }

    /// Forgets a received signal (tests).
    public static func reset() { signalNumber = 0 }

    /// The name of a signal number.
    public static func name(_ s: Int32) -> String {
        switch s {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGUSR1: return "SIGUSR1"
        default: return "signal \(s)"
        }
    }
}

/// Thrown by `Trainer.run` after it stopped on a signal and wrote its checkpoint.
public struct TrainStopped: Error, CustomStringConvertible {
    public let signal: Int32
    public let step: Int
    public let checkpoint: String
    public var description: String {
        "stopped by \(StopRequest.name(signal)) after step \(step); checkpoint \(checkpoint) (continue with --resume latest)"
    }
}
