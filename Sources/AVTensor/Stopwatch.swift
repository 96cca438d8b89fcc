import Dispatch
import Foundation

/// Monotonic wall-clock timing for benchmarks and progress lines.
public struct Stopwatch: Sendable {
    public let start = DispatchTime.now().uptimeNanoseconds
    public init() {}
    /// Seconds since creation.
    public var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 }

    /// A duration as a clock reading, rounded to the second: `1:02:03` from an hour on, else `2:05`;
    /// `--:--` when negative, not finite (an ETA with no rate yet) or beyond 10¹² s.
    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e12 else { return "--:--" }
        let t = Int(seconds.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
