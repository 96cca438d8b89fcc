import Foundation
import AVFiles
import ArgumentParser
import AVTensor
import AVSafetensors
import AVEval
import AVTrain

/// `avtool eval …`: how good an encoder is.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "Zero-shot, linear probe and retrieval evaluation.",
        subcommands: [EvalZeroShot.self, EvalProbe.self, EvalRetrieval.self])
}

/// Which encoder to evaluate and how to run it.
struct EncoderOptions: ParsableArguments {
    @Option(help: "Export folder (encoder.json + encoder.safetensors), or a run folder.") var model: String?
    @Option(help: "Training checkpoint (a .safetensors file, or a run folder: its newest).") var checkpoint: String?
    @Flag(help: "Use the checkpoint's EMA weights.") var ema = false
    @Option(help: "Windows per encoder call.") var batch = 16
    @Option(help: "Threads (0 = all cores).") var threads = 0
    @Option(help: "Seconds between window starts for clips longer than the model input (default: half a clip).") var hop: Double?

    func validate() throws {
        guard (model == nil) != (checkpoint == nil) else { throw ValidationError("give exactly one of --model and --checkpoint") }
        guard (1...4096).contains(batch) else { throw ValidationError("--batch must be in 1...4096, got \(batch)") }
        guard (0...1024).contains(threads) else { throw ValidationError("--threads must be in 0...1024, got \(threads)") }
    }

    /// The loaded embedder and the spec it came from.
    func embedder() throws -> (AudioEmbedder, EncoderSpec) {
        Threads.set(threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount)
        let w = try EncoderWeights.open(model ?? checkpoint!, ema: ema)
        return (try AudioEmbedder(weights: w, batch: batch, hopSeconds: hop), w.spec)
    }
}

/// Which data set.
struct DatasetOptions: ParsableArguments {
    enum Kind: String, ExpressibleByArgument, CaseIterable { case esc50, us8k, shards }
    @Option(help: "esc50, us8k or shards.") var dataset: Kind
    @Option(help: "ESC-50-master or UrbanSound8K folder, or an eval-shard manifest (or its folder).") var root: String

    func load() throws -> EvalSet {
        switch dataset {
        case .esc50: return try OfficialLayouts.esc50(root: root)
        case .us8k: return try OfficialLayouts.us8k(root: root)
        case .shards: return try EvalShards.load(root)
        }
    }
}

/// Embeds a set with a progress bar on stderr; prints skipped clips.
func embedSet(_ set: EvalSet, _ embedder: AudioEmbedder) -> EvalEmbeddings {
    let watch = Stopwatch()
    let e = EvalEmbeddings.compute(set, embedder) { done, total in
        fputs(String(format: "\rembedding %d/%d clips (%.0f s)", done, total, watch.seconds), stderr)
    }
    fputs("\n", stderr)
    for s in e.skipped.prefix(20) { fputs("skipped \(s.name): \(s.reason)\n", stderr) }
    if e.skipped.count > 20 { fputs("… \(e.skipped.count - 20) more skipped\n", stderr) }
    return e
}

func writeJSON(_ object: Any, to path: String) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try AtomicFile.write(data, to: path)
}

struct EvalZeroShot: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "zeroshot",
        abstract: "Zero-shot classification against class-prompt embeddings: top-1/top-5 overall and per fold, confusion matrix.")
    @OptionGroup var encoder: EncoderOptions
    @OptionGroup var data: DatasetOptions
    @Option(help: "Class-embedding file (class_embedding [C, D] or [C, prompts, D] + class_names).") var classes: String
    @Option(help: "Output folder (summary.json, predictions.csv, confusion.csv, confusion.svg).") var out: String?

    func run() throws {
        let (embedder, spec) = try encoder.embedder()
        let set = try data.load()
        let classFile = try ClassEmbeddings.load(classes)
        guard classFile.dim == embedder.dim else {
            throw EvalError("\(classes): class embeddings have D = \(classFile.dim), the encoder outputs \(embedder.dim)")
        }
        let (rows, unused) = try classFile.aligned(to: set.classNames, dataset: "\(set.kind) (\(set.root))")
        let r = ZeroShot.score(set, embeddings: embedSet(set, embedder), classRows: rows, unusedClasses: unused)
        print(String(format: "zero-shot %@ (%d classes, %d clips, %d skipped): top-1 %.2f %%, top-5 %.2f %% (chance %.2f %%)",
                     set.kind, set.classNames.count, r.overall.clips, r.skipped.count, 100 * r.overall.top1, 100 * r.overall.top5,
                     100 * r.chance))
        for (f, a) in r.perFold.sorted(by: { $0.key < $1.key }) {
            print(String(format: "  fold %2d: %5d clips, top-1 %6.2f %%, top-5 %6.2f %%", f, a.clips, 100 * a.top1, 100 * a.top5))
        }
        if unused > 0 { print("  (\(unused) classes of \(classes) are not in the data set and were left out)") }
        let dir = out ?? "Checkpoints/eval/zeroshot-\(set.kind)"
        try r.write(to: dir, encoder: spec)
        print("wrote \(dir)/{summary.json,predictions.csv,confusion.csv,confusion.svg}")
    }
}

struct EvalProbe: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "probe",
        abstract: "Linear probe: L2-regularised logistic regression on frozen embeddings, leave-one-fold-out, mean ± std.")
    @OptionGroup var encoder: EncoderOptions
    @OptionGroup var data: DatasetOptions
    @Option(name: .customLong("c"), help: "Inverse regularisation strength C (as scikit-learn).") var c = 1.0
    @Option(help: "Embedding cache (safetensors): reused when it matches the encoder and data set, else (re)written.") var cache: String?
    @Option(help: "Output JSON summary.") var out: String?

    func validate() throws {
        guard c.isFinite && c > 0 else { throw ValidationError("--c must be positive, got \(c)") }
    }

    func run() throws {
        let (embedder, spec) = try encoder.embedder()
        let set = try data.load()
        let emb = try EmbeddingCache.embeddings(set, embedder: embedder, spec: spec, cache: cache) { embedSet(set, embedder) }
        let labels = emb.indices.map { set.items[$0].label }, folds = emb.indices.map { set.items[$0].fold }
        let r = try LinearProbe.run(embeddings: emb.rows, labels: labels, folds: folds, dim: emb.dim, classes: set.classNames.count,
                                    c: c) { print("  " + $0) }
        print(String(format: "linear probe %@ (%d folds, %d clips, C = %g): %.2f ± %.2f %%", set.kind, r.perFold.count,
                     emb.indices.count, c, 100 * r.mean, 100 * r.std))
        let path = out ?? "Checkpoints/eval/probe-\(set.kind).json"
        try writeJSON(["dataset": set.kind, "root": set.root, "clips": emb.indices.count, "skipped": emb.skipped.count, "c": c,
                       "mean": r.mean, "std": r.std, "per_fold": Dictionary(uniqueKeysWithValues: r.perFold.map { ("\($0.key)", $0.value) }),
                       "encoder": ["checkpoint": spec.source.checkpoint, "step": spec.source.step, "ema": spec.source.ema]], to: path)
        print("wrote \(path)")
    }
}

struct EvalRetrieval: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retrieval",
        abstract: "Audio↔image and audio↔text retrieval on eval shards: R@1/5/10, median rank, mAP (ties count against the query).")
    @OptionGroup var encoder: EncoderOptions
    @Option(help: "Eval-shard manifest (or its folder).") var root: String
    @Option(help: "Output JSON summary.") var out: String?

    func run() throws {
        let (embedder, spec) = try encoder.embedder()
        let set = try EvalShards.load(root)
        let emb = embedSet(set, embedder)
        let res = try Retrieval.evaluate(set, embeddings: emb)
        print("retrieval on \(emb.indices.count) clips (\(emb.skipped.count) skipped); chance R@1 = \(String(format: "%.2f", 100 / Double(max(1, emb.indices.count)))) %")
        print("direction       R@1     R@5    R@10  median rank    mAP")
        var json: [String: Any] = [:]
        for (name, m) in res {
            print(String(format: "%@ %6.2f  %6.2f  %6.2f  %11.1f  %6.4f", name.padding(toLength: 12, withPad: " ", startingAt: 0),
                         100 * m.r1, 100 * m.r5, 100 * m.r10, m.medianRank, m.mAP))
            json[name] = ["R@1": m.r1, "R@5": m.r5, "R@10": m.r10, "median_rank": m.medianRank, "mAP": m.mAP, "queries": m.queries]
        }
        let path = out ?? "Checkpoints/eval/retrieval.json"
        try writeJSON(["root": set.root, "clips": emb.indices.count, "skipped": emb.skipped.count, "directions": json,
                       "tie_rule": "rank = 1 + other items with cosine >= the pair's",
                       "encoder": ["checkpoint": spec.source.checkpoint, "step": spec.source.step, "ema": spec.source.ema]], to: path)
        print("wrote \(path)")
    }
}

/// `avtool export`: a checkpoint's encoder as timm-named weights + encoder.json.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export",
        abstract: "Write encoder.safetensors (timm names) and encoder.json from a checkpoint (or the newest in a run folder).")
    @Option(help: "Checkpoint file, or a run folder (its newest checkpoint).") var checkpoint: String
    @Option(help: "Output folder.") var out: String
    @Flag(help: "Export the EMA teacher's weights.") var ema = false
    @Option(help: "Class-embedding file to copy next to the encoder (classes.safetensors).") var classes: String?

    func run() throws {
        let w = try EncoderWeights.open(checkpoint, ema: ema)
        let spec = try EncoderExport.write(w, to: out, classes: classes)
        print("exported \(spec.source.ema ? "EMA" : "live") weights of \(spec.source.checkpoint) (step \(spec.source.step)): "
              + "\(spec.model.depths.count)-stage Swin \(spec.model.imageSize) → \(spec.embeddingDim) to \(out)/"
              + "{\(EncoderWeights.weightsFile),\(EncoderWeights.specFile)\(classes == nil ? "" : ",classes.safetensors")}")
    }
}
