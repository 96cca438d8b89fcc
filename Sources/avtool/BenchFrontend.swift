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
    @Option(help: "librosa's time per clip on this machine (ms), measured separately, for the ratio.")
    var librosaMs = 4.0

    func validate() throws {
        try check(clipSeconds, in: 0.1...600, "clip-seconds"); try check(fileRate, in: 1000...768_000, "file-rate")
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
        let clip16k = Resampler.resample(wav, from: fileRate, to: config.sampleRate)

        print("clip \(clipSeconds) s, \(fileRate) Hz 16-bit WAV → \(config.sampleRate) Hz, n_fft \(config.nFFT), "
              + "win \(config.winLength), hop \(config.hopLength), \(config.nMels) mels")
        print("librosa reference: \(librosaMs) ms per clip = \(Int(clipSeconds * 1000 / librosaMs))× realtime (mel only, 1 thread)")
        let stages: [(String, () throws -> Void)] = [
            ("decode (libsndfile)", { _ = try AudioFile.read(path) }),
            ("resample \(fileRate / 1000) k→\(config.sampleRate / 1000) k", { _ = Resampler.resample(wav, from: fileRate, to: config.sampleRate) }),
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
            }
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
