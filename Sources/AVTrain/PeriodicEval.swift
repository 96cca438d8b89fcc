import Foundation
import AVTensor
import AVAudio
import AVModel
import AVEval

/// The trainer's zero-shot evaluation (`[eval]`): rank 0 copies the live (or EMA) weights into
/// its own forward-only encoder and classifies the configured set with `ZeroShot` — the code
/// path of `avtool eval zeroshot`. The set and class file are opened at start-up, so a wrong path
/// or class list stops the run before its first step.
final class PeriodicEval {
    let config: TrainConfig.Eval
    let set: EvalSet
    let classes: ClassEmbeddings
    let embedder: AudioEmbedder
    /// (step, top-1, top-5) of every evaluation so far.
    private(set) var history: [(step: Int, top1: Double, top5: Double)] = []

    init(_ config: TrainConfig, model: SwinConfig) throws {
        let e = config.eval
        self.config = e
        set = try e.manifest.isEmpty
            ? (e.dataset == "esc50" ? OfficialLayouts.esc50(root: e.root) : OfficialLayouts.us8k(root: e.root))
            : EvalShards.load(e.manifest)
        classes = try ClassEmbeddings.load(e.classes)
        guard classes.dim == model.embeddingSize else {
            throw TrainError("[eval] classes \(e.classes): D = \(classes.dim), the encoder outputs \(model.embeddingSize)")
        }
        _ = try classes.aligned(to: set.classNames, dataset: "\(set.kind) (\(set.root))")
        let encoder = try SwinEncoder(config: model, batch: e.batch, forwardOnly: true, initialize: false)
        embedder = try AudioEmbedder(encoder: encoder, frontEnd: try FrontEnd(config.frontend))
    }

    /// Evaluates `weights` (a parameter buffer with the encoder's layout) after `step` steps.
    func run(step: Int, weights: UnsafePointer<Float>) throws -> ZeroShotResult {
        let p = embedder.encoder.params
        p.values.ptr.update(from: weights, count: p.count)
        let r = try ZeroShot.evaluate(set, embedder: embedder, classes: classes)
        history.append((step, r.overall.top1, r.overall.top5))
        return r
    }

    /// The best evaluation so far (highest top-1; the earliest on ties).
    var best: (step: Int, top1: Double, top5: Double)? {
        history.max { $0.top1 < $1.top1 || ($0.top1 == $1.top1 && $0.step > $1.step) }
    }
}

extension Trainer {
    /// Runs the periodic evaluation if one is configured (rank 0; every rank waits for it).
    func evaluate() throws {
        if let ev = evaluator {
            let watch = Stopwatch()
            let weights = config.eval.ema ? ema!.params.values.ptr : model.params.values.ptr
            let r = try ev.run(step: step, weights: weights)
            let line = String(format: "eval step %d: zero-shot top-1 %.1f %%, top-5 %.1f %% (chance %.1f %%) on %d %@ clips%@ (%.1f s)",
                              step, 100 * r.overall.top1, 100 * r.overall.top5, 100 * r.chance, r.overall.clips, r.set.kind,
                              r.skipped.isEmpty ? "" : ", \(r.skipped.count) skipped", watch.seconds)
            log(line)
            let record: [String: Any] = ["step": step, "eval_top1": r.overall.top1, "eval_top5": r.overall.top5,
                                         "eval_chance": r.chance, "eval_clips": r.overall.clips, "eval_skipped": r.skipped.count,
                                         "eval_weights": config.eval.ema ? "ema" : "live"]
            try metrics.append(record)
        }
        if config.eval.enabled { try comm.barrier() }
    }
}

extension Trainer {
    /// Classes of the evaluation set (0 without `[eval]`).
    public var evalClassCount: Int { evaluator?.set.classNames.count ?? 0 }
}
