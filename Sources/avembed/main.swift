import Foundation
import ArgumentParser
import AVTensor
import AVAudio
import AVEval

BLASKernels.ensureOptimisedKernels(program: "avembed", quiet: true)

extension EmbeddingFormat: ExpressibleByArgument {}

/// `avembed`: sound files → CLIP-space vectors (and, with `--classify`, class rankings).
struct AVEmbed: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "avembed",
        abstract: "Embed sound files with an exported avtrain encoder (or a training checkpoint).",
        discussion: """
            Any file libsndfile reads (WAV, FLAC, OGG, MP3, AIFF …), any rate and channel count. Clips longer than \
            the model's input are embedded in windows (--hop apart) and averaged; shorter ones are padded as in \
            evaluation. A file that cannot be read gets one line on stderr and the others are still embedded; the \
            exit status is then 1. Output rows are the encoder's raw outputs (--normalize for unit length).
            Examples:
              avembed --model Checkpoints/demo/encoder rain.wav thunder.flac
              avembed --model Checkpoints/demo --classify Datasets/data/demo/class_embeddings.safetensors --top 3 clip.wav
              avembed --model encoder/ --format npy --out emb.npy audio/*.wav
            """)

    @Option(help: "Export folder (encoder.json + encoder.safetensors), a training checkpoint, or a run folder (newest checkpoint).")
    var model: String
    @Flag(help: "Use a checkpoint's EMA weights (an export must have been made with --ema).") var ema = false
    @Option(help: "Output format: json, csv or npy.") var format: EmbeddingFormat = .json
    @Option(help: "Output file (default: standard output; required for npy).") var out: String?
    @Option(help: "Class-embedding file: print the top classes of each file by cosine instead of embeddings (unless --out).")
    var classify: String?
    @Option(help: "Classes printed per file with --classify.") var top = 5
    @Option(help: "Windows per encoder call.") var batch = 8
    @Option(help: "Threads (0 = all cores).") var threads = 0
    @Option(help: "Seconds between window starts for long clips (default: half the model's clip).") var hop: Double?
    @Flag(help: "L2-normalise the output embeddings.") var normalize = false
    @Flag(help: "Print timings (model load, embedding) and the process's peak RSS to stderr at the end.") var stats = false
    @Option(help: "Also write every window's model input (log-mel image) as float32 .npy [windows, H, W], in file order.")
    var saveInputs: String?
    @Argument(help: "Sound files.") var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one sound file") }
        guard (1...4096).contains(batch) else { throw ValidationError("--batch must be in 1...4096, got \(batch)") }
        guard (1...1000).contains(top) else { throw ValidationError("--top must be in 1...1000, got \(top)") }
        guard (0...1024).contains(threads) else { throw ValidationError("--threads must be in 0...1024, got \(threads)") }
        if format == .npy && (out == nil || out == "-") { throw ValidationError("--format npy needs --out FILE") }
    }

    func run() throws {
        let clock = Stopwatch()
        Threads.set(threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount)
        let embedder: AudioEmbedder, classes: ClassEmbeddings?
        do {
            let weights = try EncoderWeights.open(model, ema: ema)
            embedder = try AudioEmbedder(weights: weights, batch: batch, hopSeconds: hop)
            classes = try classify.map(ClassEmbeddings.load)
            if let c = classes, c.dim != embedder.dim {
                throw EvalError("\(c.path): class embeddings have D = \(c.dim), the encoder outputs \(embedder.dim)")
            }
        } catch {
            fputs("avembed: \(error)\n", stderr)
            throw ExitCode(2)
        }
        let loaded = clock.seconds
        let rate = embedder.frontEnd.config.sampleRate
        var inputs: [Float] = []
        if saveInputs != nil {
            let hw = embedder.encoder.inputCount
            embedder.inputObserver = { p, n in inputs += UnsafeBufferPointer(start: p, count: n * hw) }
        }
        let results = embedder.embed(count: files.count, concurrentLoad: true) { i in try AudioDecoder.load(files[i], sampleRate: rate) }
        var names: [String] = [], rows: [Float] = []
        for (f, r) in zip(files, results) {
            switch r {
            case .success(let e): names.append(f); rows += e
            case .failure(let e): fputs("avembed: \(f): \(e)\n", stderr)
            }
        }
        let d = embedder.dim
        if let path = saveInputs {
            let (h, w) = embedder.frontEnd.imageShape
            do { try EmbeddingFormat.writeNpy(inputs, shape: [inputs.count / (h * w), h, w], to: path) } catch {
                fputs("avembed: \(error)\n", stderr)
                throw ExitCode(2)
            }
        }
        if let classes {
            let ranked = ZeroShot.rank(rows, classRows: classes.rows, dim: d, k: min(top, classes.count))
            for (f, r) in zip(names, ranked) {
                print("\(f): " + r.map { "\(classes.names[$0.label]) \(String(format: "%.3f", $0.score))" }.joined(separator: ", "))
            }
        }
        if classes == nil || out != nil {
            let output = normalize ? normalizedRows(rows, dim: d) : rows
            do { try format.write(files: names, rows: output, dim: d, to: out ?? "-") } catch {
                fputs("avembed: \(error)\n", stderr)
                throw ExitCode(2)
            }
        }
        if stats {
            fputs(String(format: "avembed: %d file(s); model loaded in %.3f s, embedded in %.3f s; peak RSS %.1f MB\n", names.count,
                         loaded, clock.seconds - loaded, Double(ProcessMemory.peakResidentKiB()) / 1024), stderr)
        }
        if names.count < files.count {
            fputs("avembed: \(files.count - names.count) of \(files.count) file(s) could not be embedded\n", stderr)
            throw ExitCode(1)
        }
    }
}

AVEmbed.main()
