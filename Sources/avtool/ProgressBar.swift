import Foundation
import AVTensor

/// A one-line progress bar with rate and ETA on stderr (redrawn at most 4 times a second).
final class ProgressBar {
    let total: Int
    let label: String
    let start = Date()
    var last = Date.distantPast
    var drawn = -1
    private(set) var done = 0
    let enabled: Bool

    init(total: Int, label: String, enabled: Bool = true) {
        self.total = max(1, total); self.label = label; self.enabled = enabled
    }

    /// Advances by `n` and redraws if due.
    func advance(_ n: Int = 1) { set(done + n) }

    /// Sets the count and redraws if due.
    func set(_ value: Int) {
        done = value
        guard enabled else { return }
        let now = Date()
        if now.timeIntervalSince(last) >= 0.25 || done >= total { last = now; draw(now) }
    }

    /// Ends the line.
    func finish() {
        guard enabled else { return }
        if drawn != done { draw(Date()) }
        FileHandle.standardError.write(Data("\n".utf8))
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
                          Stopwatch.clock(el), Stopwatch.clock(eta))
        FileHandle.standardError.write(Data(line.utf8))
    }
}
