import Foundation

/// This process's memory as the kernel counts it.
public enum ProcessMemory {
    /// Peak resident set size (VmHWM) in KiB from /proc/self/status; 0 where unavailable.
    public static func peakResidentKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
}
