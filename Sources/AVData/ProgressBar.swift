import Foundation

/// A one-line progress bar with rate and ETA on stderr (redrawn at most 4 times a second).
public final class ProgressBar {
    public let total: Int
    public let label: String
    let start = Date()
    var last = Date.distantPast
    var drawn = -1
    public private(set) var done = 0
    let enabled: Bool

    public init(total: Int, label: String, enabled: Bool = true) {
        self.total = max(1, total); self.label = label; self.enabled = enabled
    }

    /// Advances by `n` and redraws if due.
    public func advance(_ n: Int = 1) { set(done + n) }

    /// Sets the count and redraws if due.
    public func set(_ value: Int) {
        done = value
        guard enabled else { return }
        let now = Date()
        if now.timeIntervalSince(last) >= 0.25 || done >= total { last = now; draw(now) }
    }

    /// Ends the line.
    public func finish() {
        guard enabled else { return }
        if drawn != done { draw(Date()) }
        FileHandle.standardError.write(Data("\n".utf8))
    }

    /// "h:mm:ss" or "m:ss".
    public static func clock(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "--:--" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }

    func draw(_ now: Date) {
        drawn = done
        let el = now.timeIntervalSince(start)
        let f = Double(min(done, total)) / Double(total)
        let width = 28, full = Int(f * Double(width))
        let rate = el > 0 ? Double(done) / el : 0
        let eta = rate > 0 ? Double(total - done) / rate : .infinity
        let bar = String(repeating: "#", count: full) + String(repeating: ".", count: width - full)
        let line = String(format: "\r%@ [%@] %d/%d %5.1f%% %.1f/s elapsed %@ ETA %@ ", label, bar, done, total, f * 100, rate,
                          ProgressBar.clock(el), ProgressBar.clock(eta))
        FileHandle.standardError.write(Data(line.utf8))
    }
}
