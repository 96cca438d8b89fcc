import AVAudio
import AVTensor
import ArgumentParser
import Dispatch
import Foundation

/// Audio front-end throughput: seconds of audio turned into log-mel per second of wall time.
struct BenchFrontend: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "frontend",
        abstract: "Audio front-end throughput (decode + resample + log-mel) in × realtime, per thread.")

    @Option(help: "Clip length in seconds.") var clipSeconds = 10.0
    @Option(help: "Sample rate of the WAV file that is decoded.") var fileRate = 44100
    @Option(help: "Seconds per measurement window.") var seconds = 0.5
    @Option(help: "Measurement windows per figure; the fastest is reported (the machine may be shared).")
    var repeats = 5
    @OptionGroup var threads: BenchThreads
    @Option(help: "Only stages whose name contains this text.") var only = ""
    @Option(help: "librosa's time per clip on this machine (ms), measured separately, for the ratio (--compare measures it).")
    var librosaMs = 4.0
    @Flag(help: "Time librosa, torch.stft and soxr in the same run and measure both resamplers' quality (bench/reference/frontend_librosa.py; needs numpy, librosa, soxr).")
    var compare = false

    func validate() throws {
        try check(clipSeconds, in: 0.1...600, "clip-seconds"); try check(fileRate, in: Resampler.rates, "file-rate")
        try check(seconds, in: 0.001...3600, "seconds"); try check(repeats, in: 1...1000, "repeats")
        try check(librosaMs, in: 1e-6...1e9, "librosa-ms")
    }

    func run() throws {
        var config = FrontEndConfig.default16k
        config.clipSamples = Int(clipSeconds * Double(config.sampleRate))
        config.fold = false; config.imageHeight = config.nMels; config.imageWidth = config.stftFrames
        let frontEnd = try FrontEnd(config)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("avtool-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("clip.wav").path
        var rng = Rng(seed: 1)
        let n = Int(clipSeconds * Double(fileRate))
        let wav: [Float] = (0..<n).map { 0.3 * sinf(2 * .pi * 440 * Float($0) / Float(fileRate)) + 0.05 * rng.normal() }
        try AudioFile.write(path, samples: wav, sampleRate: fileRate, format: .wav16)
        let clip16k = try Resampler.resample(wav, from: fileRate, to: config.sampleRate)

        print("cpu: \(cpuModel()); kernels \(Kernels.active)")
        print("clip \(clipSeconds) s, \(fileRate) Hz 16-bit WAV → \(config.sampleRate) Hz, n_fft \(config.nFFT), "
              + "win \(config.winLength), hop \(config.hopLength), \(config.nMels) mels")
        let reference = compare ? try measureReferences(in: dir.path) : nil
        let librosaMs = reference?["librosa_logmel_ms"] ?? self.librosaMs
        print("librosa reference: \(String(format: "%.2f", librosaMs)) ms per clip = \(Int(clipSeconds * 1000 / librosaMs))× realtime "
              + "(mel only, 1 thread\(reference == nil ? ", --librosa-ms" : ", measured now"))")
        var ours: [String: Double] = [:]
        let stages: [(String, () throws -> Void)] = [
            ("decode (libsndfile)", { _ = try AudioFile.read(path) }),
            ("resample \(fileRate / 1000) k→\(config.sampleRate / 1000) k", { _ = try Resampler.resample(wav, from: fileRate, to: config.sampleRate) }),
            ("decode+resample", { _ = try AudioDecoder.load(path, sampleRate: config.sampleRate) }),
            ("image from 16 kHz clip", { var r = Rng(seed: 0); _ = frontEnd.image(waveform: clip16k, training: false, rng: &r) }),
            ("STFT power only", { clip16k.withUnsafeBufferPointer { frontEnd.logMel.stft.forEachPowerFrame($0) { _, _ in } } }),
            ("log-mel only", { _ = frontEnd.logMel(clip16k) }),
            ("decode+resample+log-mel", {
                let y = try AudioDecoder.load(path, sampleRate: config.sampleRate)
                var r = Rng(seed: 0)
                _ = frontEnd.image(waveform: y, training: false, rng: &r)
            }),
        ]
        print("threads  stage                        ms/clip   × realtime/thread   vs librosa")
        for t in threads.threads {
            for (name, body) in stages where only.isEmpty || name.contains(only) {
                let perClip = try (0..<repeats).map { _ in try measure(threads: t, body) }.reduce(.infinity, min)
                let rt = clipSeconds / perClip
                let label = name.padding(toLength: 27, withPad: " ", startingAt: 0)
                print(String(format: "%7d  ", t) + label + String(format: " %8.3f   %17.0f   %9.2f×", perClip * 1000, rt, librosaMs / 1000 / perClip))
                if t == 1 { ours[name] = perClip * 1000 }
            }
        }
        if let reference { report(reference, ours: ours, resampleStage: stages[1].0) }
    }

    /// Our resampler's output for each quality-test tone (1 s sines at the file rate) and the
    /// reference script's timings and quality figures for both resamplers.
    func measureReferences(in dir: String) throws -> [String: Double]? {
        let freqs = Array(stride(from: 100.0, through: 6800, by: 300)) + Array(stride(from: 8000.0, to: Double(fileRate) / 2, by: 250))
        var all: [Float] = []
        var perTone = 0
        for f in freqs {
            let tone = (0..<fileRate).map { Float(0.5 * sin(2 * Double.pi * f * Double($0) / Double(fileRate))) }
            let y = try Resampler.resample(tone, from: fileRate, to: 16000)
            perTone = y.count
            all += y
        }
        try all.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: URL(fileURLWithPath: dir + "/tones.f32"))
        let spec: [String: Any] = ["freqs": freqs, "file_rate": fileRate, "amplitude": 0.5, "samples_out": perTone]
        try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: dir + "/tones.json"))
        return try runReference("frontend_librosa.py", ["--seconds", "\(clipSeconds)", "--file-rate", "\(fileRate)", "--repeats", "\(repeats)",
                                                        "--ours", dir])
    }

    func report(_ r: [String: Double], ours: [String: Double], resampleStage: String) {
        print("same run, 1 thread      avtrain ms   reference ms   ratio (reference / avtrain)")
        let rows: [(String, Double?, String, Double?)] = [
            ("log-mel vs librosa", ours["log-mel only"], "librosa", r["librosa_logmel_ms"]),
            ("STFT power vs torch", ours["STFT power only"], "torch.stft", r["torch_stft_ms"]),
            ("resample vs soxr HQ", ours[resampleStage], "soxr HQ", r["soxr_hq_ms"]),
            ("resample vs soxr VHQ", ours[resampleStage], "soxr VHQ", r["soxr_vhq_ms"]),
        ]
        for (name, a, _, b) in rows {
            guard let a, let b else { continue }
            print(name.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: " %10.3f   %12.3f   %6.2f×", a, b, b / a))
        }
        print("resampler quality (same tones, same measurement)  passband ripple ≤ 6.88 kHz   stop band ≥ 8 kHz (worst tone)")
        for (name, key) in [("avtrain", "ours"), ("soxr HQ", "soxr_hq")] {
            guard let rip = r[key + "_ripple_db"], let stop = r[key + "_stopband_db"] else { continue }
            print(name.padding(toLength: 50, withPad: " ", startingAt: 0) + String(format: "%8.4f dB %27.1f dB", rip, stop))
        }
    }

    /// Wall seconds per clip per thread, with `threads` threads each running `body` repeatedly
    /// (a first, untimed call surfaces its errors; timed calls cannot fail differently).
    func measure(threads: Int, _ body: () throws -> Void) throws -> Double {
        try body()
        var total = 0
        let sw = Stopwatch()
        withoutActuallyEscaping(body) { b in
            let box = UncheckedBox(b)
            let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: threads)
            counts.initialize(repeating: 0)
            defer { counts.deallocate() }
            let cbox = UncheckedBox(counts)
            DispatchQueue.concurrentPerform(iterations: threads) { i in
                repeat { try? box.value(); cbox.value[i] += 1 } while sw.seconds < seconds
            }
            total = counts.reduce(0, +)
        }
        return sw.seconds * Double(threads) / Double(total)
    }
}
