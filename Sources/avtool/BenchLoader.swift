import Foundation
import ArgumentParser
import AVAudio
import AVData
import AVTensor

/// `avtool bench loader`: clips per second the loader delivers (HDF5 read + int16 decode + log-mel +
/// SpecAugment) for 10 s clips, per feature thread, next to what a training step consumes.
struct BenchLoader: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "loader",
        abstract: "Loader throughput (clips/s, log-mel + SpecAugment on 10 s clips) vs a swin-t step's consumption.")

    @Option(help: "Clips in the temporary dataset.") var clips = 64
    @Option(help: "Seconds per clip.") var clipSeconds = 10.0
    @Option(help: "Batch size per rank.") var batch = 8
    @OptionGroup var threads: BenchThreads
    @Option(help: "Seconds per measurement.") var seconds = 4.0
    @Option(help: "Samples/s a swin-t training step consumes on 2 threads (for the ratio).") var consumption = 4.0

    /// A featurizer that does nothing (measures the reader thread alone).
    struct NullFeaturizer: ClipFeaturizer {
        var imageShape: (height: Int, width: Int) { (1, 1) }
        func features(waveform: [Float], training: Bool, rng: inout Rng) -> (image: [Float], augmented: [Float]) { ([waveform[0]], [waveform[0]]) }
    }

    func validate() throws {
        try check(clips, in: 1...1_000_000, "clips"); try check(batch, in: 1...4096, "batch")
        try check(clipSeconds, in: 0.1...600, "clip-seconds"); try check(seconds, in: 0.001...3600, "seconds")
        try check(consumption, in: 1e-9...1e9, "consumption")
    }

    func run() throws {
        let fe = FrontEndConfig.default16k
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("avtrain-bench-loader-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = DemoConfig()
        c.classes = 8; c.trainPerClass = max(1, clips / 8); c.evalPerClass = 1; c.seconds = clipSeconds
        c.sampleRate = fe.sampleRate; c.dim = 512; c.captions = 5; c.frames = 10; c.shardSize = 32
        let out = try DemoDataset.make(in: dir, config: c)
        let featurizer = try LogMelFeaturizer(fe)
        print(String(format: "%d clips of %.1f s at %d Hz, image %d×%d, D=512 K=5 F=10 float16, batch %d",
                     out.train.clips, clipSeconds, fe.sampleRate, fe.imageHeight, fe.imageWidth, batch))

        // Front-end alone, one thread.
        var rng = Rng(seed: 1)
        let wave = (0..<c.clipSamples).map { _ in 0.1 * rng.normal() }
        var n = 0
        let sw = Stopwatch()
        repeat { _ = featurizer.features(waveform: wave, training: true, rng: &rng); n += 1 } while sw.seconds < seconds
        let feRate = Double(n) / sw.seconds
        print(String(format: "front-end alone (log-mel + SpecAugment), 1 thread: %.1f clips/s", feRate))

        let reader = try measure(out.trainManifestPath, NullFeaturizer(), workers: 1)
        print(String(format: "reader thread alone (HDF5 row reads + weak pairs): %.1f clips/s", reader))
        print("feature threads  loader clips/s  per thread  vs swin-t consumption (\(consumption) samples/s)")
        for t in threads.threads {
            let r = try measure(out.trainManifestPath, featurizer, workers: t)
            print(String(format: "%15d  %14.1f  %10.1f  %.1f×", t, r, r / Double(t), r / consumption))
        }
    }

    func measure(_ manifest: String, _ f: ClipFeaturizer, workers: Int) throws -> Double {
        var o = LoaderOptions(training: true, workers: workers, prefetchBatches: 3)
        o.log = { _ in }
        let loader = try ShardedLoader(manifestPath: manifest, rank: 0, worldSize: 1, batchPerRank: batch, seed: 1,
                                       featurizer: f, options: o)
        var delivered = 0, epoch = 0
        // Warm-up batch (thread start, file opens), then the timed span.
        let first = loader.epoch(999)
        _ = try first.next()
        first.cancel()
        let sw = Stopwatch()
        while sw.seconds < seconds {
            let s = loader.epoch(epoch)
            while let b = try s.next() {
                delivered += b.size
                if sw.seconds >= seconds { break }
            }
            epoch += 1
        }
        return Double(delivered) / sw.seconds
    }
}
