import Foundation
import AVAudio
import AVTensor

/// The demo's optional spoken-word class: words spoken by espeak-ng (when installed), rendered once
/// per (word, voice pitch) and placed at random offsets in each clip. espeak-ng's output is
/// deterministic, so the demo stays byte-reproducible.
public enum DemoSpeech {
    public static let className = "spoken_word"
    static let words = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "zero", "hello", "yes"]
    static let pitches = [25, 50, 75]

    /// The espeak-ng executable, or nil when it is not installed.
    public static var espeak: String? {
        ["/usr/bin/espeak-ng", "/usr/local/bin/espeak-ng", "/opt/homebrew/bin/espeak-ng"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Renders every (word, pitch) at `rate` Hz: [pitch][word] → samples.
    public static func vocabulary(rate: Int) throws -> [[[Float]]] {
        guard let exe = espeak else { throw DataError(file: "espeak-ng", reason: "not installed (needed for --speech)") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("avtrain-espeak-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        return try pitches.map { p in
            try words.map { w in
                let file = dir.appendingPathComponent("\(w)-\(p).wav").path
                let proc = Process()
                proc.executableURL = URL(fileURLWithPath: exe)
                proc.arguments = ["-w", file, "-p", "\(p)", "-s", "150", w]
                proc.standardOutput = FileHandle.nullDevice
                proc.standardError = FileHandle.nullDevice
                try proc.run()
                proc.waitUntilExit()
                guard proc.terminationStatus == 0 else { throw DataError(file: exe, reason: "failed to say '\(w)' (exit \(proc.terminationStatus))") }
                let a = try AudioFile.read(file)
                return try Resampler.resample(a.mono(), from: a.sampleRate, to: rate)
            }
        }
    }

    /// A clip of `n` samples: words of the voice chosen by `u` at random offsets, peak-normalised to `gain`.
    public static func synthesize(_ vocab: [[[Float]]], u: Float, gain: Float, samples n: Int, rng: inout Rng) -> [Float] {
        let voice = vocab[min(vocab.count - 1, Int(u * Float(vocab.count)))]
        var x = [Float](repeating: 0, count: n)
        var pos = rng.below(max(1, n / 8))
        while pos < n {
            let w = voice[rng.below(voice.count)]
            for i in 0..<min(w.count, n - pos) { x[pos + i] += w[i] }
            pos += w.count + rng.below(max(1, n / 6))
        }
        var peak: Float = 1e-9
        for v in x { peak = max(peak, abs(v)) }
        let g = gain / peak
        for i in 0..<n { x[i] = x[i] * g + 0.002 * rng.normal() }
        return x
    }
}
