import Foundation
import ArgumentParser
import AVData

/// `avtool data …`: build, inspect and verify HDF5 shard datasets.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data", abstract: "Datasets in HDF5 shards.",
        subcommands: [DataPack.self, DataSynth.self, DataInspect.self, DataVerify.self])
}

extension EmbeddingDType: ExpressibleByArgument {}
extension BadClipPolicy: ExpressibleByArgument {}

/// `avtool data pack`: CSV + CLIP embedding arrays → shards + manifest (resumable).
struct DataPack: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pack",
        abstract: "Build shards from a CSV (audio, labels) and CLIP embeddings (.npy); re-running resumes.")

    @Option(help: "CSV with a header: audio (or path/filename/file) and labels (';'-separated; first = primary).") var csv: String
    @Option(help: "Text embeddings .npy [N, K, D] (one row per CSV row).") var text: String
    @Option(help: "Image embeddings .npy [N, F, D].") var image: String
    @Option(help: "Output folder (shards + manifest.json).") var out: String
    @Option(help: "Dataset name stored in the shards.") var dataset = "dataset"
    @Option(help: "Split name (shard file prefix).") var split = "train"
    @Option(help: "Clips per shard.") var shardSize = 2000
    @Option(help: "Sample rate of the stored waveforms.") var sampleRate = 32000
    @Option(help: "Seconds per clip (crop / zero-pad).") var seconds = 10.0
    @Option(help: "Class names file, one per line (default: sorted distinct CSV labels).") var classes: String?
    @Option(help: "Folder relative audio paths are resolved against (default: the CSV's folder).") var audioRoot: String?
    @Option(help: "Embedding model name stored in the attributes.") var embeddingModel = "ViT-B-32/openai"
    @Option(help: "Stored embedding type: float16 or float32 (default: as in the .npy).") var dtype: EmbeddingDType?
    @Option(help: "Bad clips: skip (report) or stop.") var onBadClip: BadClipPolicy = .skip
    @Option(help: "gzip level for waveforms (default: none).") var gzip: Int?

    func validate() throws {
        guard (1...1_000_000).contains(shardSize) else { throw ValidationError("--shard-size must be in 1...1000000, got \(shardSize)") }
        guard (1...768_000).contains(sampleRate) else { throw ValidationError("--sample-rate must be in 1...768000 Hz, got \(sampleRate)") }
        guard seconds.isFinite, seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600], got \(seconds)") }
        guard Int((seconds * Double(sampleRate)).rounded()) >= 1 else { throw ValidationError("--seconds × --sample-rate is less than one sample") }
        if let gzip { guard (0...9).contains(gzip) else { throw ValidationError("--gzip must be in 0...9, got \(gzip)") } }
    }

    func run() throws {
        var c = PackConfig(csv: csv, textEmbeddings: text, imageEmbeddings: image, output: out)
        c.dataset = dataset; c.split = split; c.shardSize = shardSize; c.sampleRate = sampleRate
        c.clipSamples = Int((seconds * Double(sampleRate)).rounded()); c.classesFile = classes; c.audioRoot = audioRoot
        c.embeddingModel = embeddingModel; c.dtype = dtype; c.onBadClip = onBadClip; c.waveformGzip = gzip
        var bar: ProgressBar?
        let s = try Packer.run(c, progress: { done, total in
            if bar == nil { bar = ProgressBar(total: total, label: "pack") }
            bar?.set(done)
        })
        bar?.finish()
        print("packed \(s.clips) clips: \(s.shardsWritten) shards written, \(s.shardsSkipped) already complete (kept), "
              + "\(s.badClips.count) bad clips skipped, \(String(format: "%.1f", s.seconds)) s")
        for e in s.badClips.prefix(50) { print("  bad clip: \(e)") }
        if s.badClips.count > 50 { print("  … \(s.badClips.count - 50) more") }
        print("manifest: \(s.manifestPath)")
    }
}

/// `avtool data synth`: the built-in demo dataset, synthesised on the spot.
struct DataSynth: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "synth",
        abstract: "Make the demo dataset: synthesised sounds with CLIP-like embeddings (train + eval + class embeddings).")

    @Option(help: "Output folder.") var out = "Datasets/data/demo"
    @Option(help: "Classes (8 base sound types; more reuse them an octave up).") var classes = 8
    @Option(help: "Training clips per class.") var trainPerClass = 64
    @Option(help: "Evaluation clips per class.") var evalPerClass = 16
    @Option(help: "Seconds per clip.") var seconds = 4.0
    @Option(help: "Sample rate.") var sampleRate = 16000
    @Option(help: "Embedding width D.") var dim = 64
    @Option(help: "Captions per clip K.") var captions = 4
    @Option(help: "Frames per clip F.") var frames = 4
    @Option(help: "Clips per shard.") var shardSize = 256
    @Option(help: "Seed (same seed → byte-identical files).") var seed: UInt64 = 0
    @Option(help: "Embedding type.") var dtype: EmbeddingDType = .float16
    @Flag(help: "Add a class of words spoken by espeak-ng (must be installed).") var speech = false

    func run() throws {
        var c = DemoConfig()
        c.classes = classes; c.trainPerClass = trainPerClass; c.evalPerClass = evalPerClass; c.seconds = seconds
        c.sampleRate = sampleRate; c.dim = dim; c.captions = captions; c.frames = frames; c.shardSize = shardSize
        c.seed = seed; c.dtype = dtype; c.speech = speech
        let start = Date()
        var bar: ProgressBar?
        let o = try DemoDataset.make(in: out, config: c) { done, total in
            if bar == nil { bar = ProgressBar(total: total, label: "synth") }
            bar?.set(done)
        }
        bar?.finish()
        print("demo dataset (\(c.totalClasses) classes, \(String(format: "%.1f", seconds)) s at \(sampleRate) Hz, D=\(dim), K=\(captions), F=\(frames), seed \(seed)) "
              + "in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        print("  train: \(o.train.clips) clips, \(o.train.shards.count) shards → \(o.trainManifestPath)")
        print("  eval:  \(o.eval.clips) clips, \(o.eval.shards.count) shards → \(o.evalManifestPath)")
        print("  class embeddings: \(o.classEmbeddingsPath)")
    }
}

/// `avtool data inspect`: summary of a manifest or shard.
struct DataInspect: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect",
        abstract: "Summarise a manifest (.json) or a shard (.h5): clips, classes, shapes, dtypes, attributes.")
    @Argument(help: "manifest.json or shard .h5 files.") var paths: [String]
    func run() throws { for p in paths { print(try ShardInspector.describe(p)) } }
}

/// `avtool data verify`: reads every clip; non-zero exit on errors.
struct DataVerify: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify",
        abstract: "Check shards: structure by default; with --deep, read every clip (checksums, embeddings, labels, audio).")
    @Argument(help: "manifest.json or shard .h5 files.") var paths: [String]
    @Flag(help: "Read and check every row: Fletcher-32 checksums, NaN/zero-norm embeddings, labels vs targets, silent/clipped audio.")
    var deep = false
    @Flag(help: "Treat warnings (silent or clipped audio) as errors.") var strict = false
    @Option(help: "Issues printed per kind.") var show = 50

    func run() throws {
        var report = ShardVerifier.Report()
        var v = ShardVerifier()
        v.deep = deep
        for p in paths {
            if p.hasSuffix(".json") {
                let r = try v.verify(manifestPath: p)
                report.shards += r.shards; report.clips += r.clips; report.errors += r.errors; report.warnings += r.warnings
            } else {
                v.verifyShard(p, into: &report)
            }
        }
        for e in report.errors.prefix(show) { print("error: \(e)") }
        if report.errors.count > show { print("… \(report.errors.count - show) more errors") }
        for w in report.warnings.prefix(show) { print("warning: \(w)") }
        if report.warnings.count > show { print("… \(report.warnings.count - show) more warnings") }
        if !report.kinds.isEmpty {
            print("problems by kind:")
            for k in report.kinds { print(String(format: "  %6d errors %6d warnings  %@", k.errors, k.warnings, k.kind)) }
        }
        print("verified \(report.clips) clips in \(report.shards) shards (\(deep ? "deep: every row read" : "structure only; --deep reads every row")): "
              + "\(report.errors.count) errors, \(report.warnings.count) warnings")
        if !report.errors.isEmpty || (strict && !report.warnings.isEmpty) { throw ExitCode(1) }
    }
}
