import Foundation
import AVAudio
import AVLoss
import AVModel
import AVData

/// Everything a training run is configured by (SPEC §6), read from a TOML file by `TrainConfig.load`.
/// Sections and keys are the snake_case names below; see Launch/demo.toml for a commented example.
public struct TrainConfig: Codable, Equatable, Sendable {
    /// `[model]`: the Swin encoder. The input size is the front-end's image size and the output
    /// width is the data's embedding width D, so neither is set here.
    public struct Model: Codable, Equatable, Sendable {
        /// `preset`: tiny, swin-t, swin-s or swin-b.
        public var preset = "tiny"
        /// `window`: window size override (0 = the preset's).
        public var window = 0
        /// `drop_path`: stochastic depth rate override (negative = the preset's).
        public var dropPath: Float = -1
        /// `embed_dim`, `depths`, `num_heads`, `mlp_ratio`, `patch_size`: overrides of the
        /// preset's architecture (0 / empty = the preset's), e.g. an HTSAT-like Swin.
        public var embedDim = 0
        public var depths: [Int] = []
        public var numHeads: [Int] = []
        public var mlpRatio: Float = 0
        public var patchSize = 0
        /// `embedding_dim`: the head's output width D; 0 = the data's (any other value must equal it).
        public var embeddingDim = 0
    }

    /// `[data]`: the training set and loader.
    public struct DataSection: Codable, Equatable, Sendable {
        /// `train_manifest`: manifest.json of the training shards (relative to the working directory).
        public var trainManifest = "Datasets/data/demo/train/manifest.json"
        /// `batch_per_rank`: clips per rank per step; the global batch is this × ranks.
        public var batchPerRank = 32
        /// `global_batch`: clips per step over all ranks (0 = batch_per_rank × ranks); when set,
        /// batch_per_rank is derived (it must divide evenly by the number of ranks).
        public var globalBatch = 0
        /// `workers`: loader feature threads per rank.
        public var workers = 2
        /// `prefetch`: batches prepared ahead.
        public var prefetch = 3
        /// `on_bad_clip`: stop, or skip (report the clip and go on).
        public var onBadClip = BadClipPolicy.stop
        /// `synth_if_missing`: build the demo dataset (`avtool data synth` defaults) into the
        /// manifest's grandparent folder when the manifest does not exist (demo configs only).
        public var synthIfMissing = false
    }

    /// `[loss]`: the objective (SPEC §5).
    public struct Loss: Codable, Equatable, Sendable {
        public var audioText: Float = 1
        public var audioImage: Float = 1
        public var audioAudio: Float = 0
        public var weakKD: Float = 0
        public var momentumKD: Float = 0
        /// `tau_kd`: temperature of weak_kd.
        public var tauKD: Float = 0.1
        /// `logit_scale_init`: initial raw logit scale (ln(1/0.07) by default).
        public var logitScaleInit: Float = Float(log(1 / 0.07))
        /// `ema_momentum`: EMA encoder momentum m (used only with the momentum teacher).
        public var emaMomentum: Float = 0.995
        /// `ema_momentum_end`: with a value ≥ 0, m rises from `ema_momentum` to this on a cosine
        /// over the run (ALBEF / MoCo v3; e.g. 0.995 → 1); negative = constant.
        public var emaMomentumEnd: Float = -1
        /// `alpha`: the CAVT-MAE weighting — audio_image gets 1 − α and momentum_kd α/2 (then those
        /// two keys must not be set); negative = off.
        public var alpha: Float = -1
        /// `alpha_ramp_steps`: α rises linearly from 0 to `alpha` over this many steps (0 = at once).
        public var alphaRampSteps = 0
        /// `logit_scale_max`: the raw logit scale is clamped to [0, this] after every update
        /// (CLIP / open_clip: ln 100).
        public var logitScaleMax: Float = Float(log(100.0))

        public var weights: LossWeights { weights(at: Int.max) }

        /// The weights at update `step` (α ramped, when `alpha` is set).
        public func weights(at step: Int) -> LossWeights {
            var w = LossWeights(audioText: audioText, audioImage: audioImage, audioAudio: audioAudio, weakKD: weakKD,
                                momentumKD: momentumKD, tauKD: tauKD)
            if alpha >= 0 {
                let a = alphaRampSteps > 0 ? alpha * Float(min(1, Double(step) / Double(alphaRampSteps))) : alpha
                w.audioImage = 1 - a
                w.momentumKD = a / 2
            }
            return w
        }

        /// Whether the run needs the momentum (EMA) teacher.
        public var usesTeacher: Bool { momentumKD > 0 || alpha > 0 }

        /// The EMA momentum at update `step` of `total`.
        public func emaMomentum(at step: Int, of total: Int) -> Float {
            guard emaMomentumEnd >= 0 else { return emaMomentum }
            let t = min(1, Double(step) / Double(max(1, total)))
            return emaMomentumEnd - (emaMomentumEnd - emaMomentum) * Float(0.5 * (1 + cos(Double.pi * t)))
        }
    }

    /// `[optim]`: optimiser and schedule.
    public struct Optim: Codable, Equatable, Sendable {
        /// `optimizer`: adamw, or sgd (momentum, coupled weight decay as torch.optim.SGD).
        public var optimizer = OptimizerKind.adamw
        /// `lr`: peak learning rate.
        public var lr: Float = 1e-4
        public var weightDecay: Float = 0.05
        public var betas: [Float] = [0.9, 0.999]
        public var eps: Float = 1e-8
        /// `momentum`: SGD momentum.
        public var momentum: Float = 0.9
        /// `warmup_steps`: linear warmup from 0 to lr.
        public var warmupSteps = 0
        /// `schedule`: "cosine" (to min_lr at the last step), "cyclic" (cosine with warm restarts
        /// every `cycle_steps`, each cycle `cycle_mult` × longer), "linear", "step" (× `decay_factor`
        /// every `decay_steps`) or "constant".
        public var schedule = LRSchedule.Kind.cosine
        public var minLR: Float = 0
        public var cycleSteps = 1000
        public var cycleMult = 1
        public var decaySteps = 1000
        public var decayFactor: Float = 0.1
        /// `no_decay`: parameters whose name contains one of these get no weight decay.
        public var noDecay: [String] = DecayRule.defaultPatterns
        /// `grad_clip`: maximum global gradient norm (0 = no clipping).
        public var gradClip: Float = 1
    }

    /// `[train]`: length, logging, checkpoints.
    public struct Run: Codable, Equatable, Sendable {
        /// `epochs`: passes over the data (used when `steps` is 0).
        public var epochs = 1
        /// `steps`: total optimiser steps (0 = epochs × batches per epoch).
        public var steps = 0
        public var seed = 0
        /// `threads`: compute threads per rank (0 = AVTRAIN_THREADS, else 1 under MPI, all cores alone).
        public var threads = 0
        public var logEvery = 10
        /// `checkpoint_every`: steps between checkpoints (0 = only at the end; a stop signal
        /// always writes one).
        public var checkpointEvery = 1000
        /// `keep_last`: checkpoints kept (older ones are deleted).
        public var keepLast = 3
        public var outDir = "Checkpoints/demo"
        /// `max_bad_steps`: consecutive skipped (non-finite) steps before the run stops.
        public var maxBadSteps = 5
    }

    /// `[eval]`: periodic zero-shot evaluation (off unless `manifest` or `root` is set).
    public struct Eval: Codable, Equatable, Sendable {
        /// `manifest`: eval shards (manifest.json or its folder), or
        public var manifest = ""
        /// `dataset` ("esc50" or "us8k") with `root`: an official layout folder.
        public var dataset = ""
        public var root = ""
        /// `classes`: the class-embedding file (required when evaluation is on).
        public var classes = ""
        /// `every`: steps between evaluations (0 = only at the end).
        public var every = 0
        /// `ema`: evaluate the EMA teacher's weights (needs momentum_kd > 0) instead of the live ones.
        public var ema = false
        /// `batch`: windows per encoder call during evaluation.
        public var batch = 32

        /// True when a set to evaluate on is configured.
        public var enabled: Bool { !manifest.isEmpty || !root.isEmpty }
    }

    /// `[dist]`: how gradients cross ranks.
    public struct Dist: Codable, Equatable, Sendable {
        /// `overlap`: all-reduce gradient buckets while backward runs (non-blocking MPI); false =
        /// one bucketed all-reduce after backward.
        public var overlap = true
        /// `bucket_mb`: bucket size in MB (PyTorch DDP's default is 25).
        public var bucketMB: Float = 25
        /// `timeout_s`: seconds any collective may wait for a peer before the job gives up on
        /// it (a lost host, a hung rank); must exceed the longest stretch a rank works between
        /// collectives (a step's compute imbalance, a checkpoint write, rank 0's periodic evaluation).
        public var timeoutS: Float = 300
        /// Elements of float per bucket.
        public var bucketElements: Int { max(1, Int(bucketMB * 1_048_576 / 4)) }
    }

    public var model = Model()
    public var data = DataSection()
    public var dist = Dist()
    public var eval = Eval()
    /// `[frontend]`: overrides of `FrontEndConfig` (snake_case names, e.g. `n_mels`, `clip_samples`).
    public var frontend = FrontEndConfig.default16k
    public var loss = Loss()
    public var optim = Optim()
    public var train = Run()

    public init() {}

    /// Where each key was set ("file:line" or "--set"), for errors found after parsing.
    public var origins: [String: String] = [:]

    private enum CodingKeys: String, CodingKey { case model, data, frontend, loss, optim, train, eval, dist }

    /// The resolved config as sorted JSON (stored in checkpoints).
    public func json() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: (try? e.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// The config as a TOML file: every section and key (snake_case) with its value; reading it
    /// back gives an equal config.
    public func tomlText() -> String {
        var out = ""
        for section in ConfigSchema.order {
            guard let fields = ConfigSchema.sections[section] else { continue }
            out += "\n[\(section)]\n"
            for (key, f) in fields.sorted(by: { $0.key < $1.key }) { out += "\(key) = \(f.get(self).toml)\n" }
        }
        return out
    }

    /// Reads `path`, applies `overrides` ("section.key=value", TOML values; a bare word is a
    /// string) and validates. Errors name the file:line (or --set) and the key.
    public static func load(path: String, overrides: [String] = []) throws -> TrainConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError(location: path, key: "", reason: "cannot read the config file")
        }
        return try parse(text, file: path, overrides: overrides)
    }

    /// As `load`, from text.
    public static func parse(_ text: String, file: String, overrides: [String] = []) throws -> TrainConfig {
        var entries = try TOML.parse(text, file: file)
        for o in overrides {
            guard let eq = o.firstIndex(of: "=") else {
                throw ConfigError(location: "--set", key: o, reason: "expected section.key=value")
            }
            let path = String(o[..<eq]).trimmingCharacters(in: .whitespaces)
            guard let dot = path.lastIndex(of: ".") else {
                throw ConfigError(location: "--set", key: path, reason: "expected section.key=value")
            }
            let value = try TOML.parseValue(String(o[o.index(after: eq)...]), location: "--set", key: path, bareStringFallback: true)
            entries.removeAll { $0.path == path }
            entries.append(TOMLEntry(section: String(path[..<dot]), key: String(path[path.index(after: dot)...]), value: value,
                                     location: "--set"))
        }
        var c = TrainConfig()
        for e in entries {
            guard let fields = ConfigSchema.sections[e.section] else {
                throw ConfigError(location: e.location, key: e.path,
                                  reason: "unknown section [\(e.section)] (known: \(ConfigSchema.sections.keys.sorted().joined(separator: ", ")))")
            }
            guard let f = fields[e.key] else {
                throw ConfigError(location: e.location, key: e.path,
                                  reason: "unknown key (known in [\(e.section)]: \(fields.keys.sorted().joined(separator: ", ")))")
            }
            guard f.set(&c, e.value) else {
                throw ConfigError(location: e.location, key: e.path, reason: "expected \(f.type), got \(e.value.typeName) \(e.value)")
            }
            c.origins[e.path] = e.location
        }
        try c.validate()
        return c
    }

    /// The encoder's config: the preset with the `[model]` overrides, the front-end's image size
    /// and the embedding width `embeddingDim` (the data's D; `model.embedding_dim` must agree).
    public func swinConfig(embeddingDim: Int) throws -> SwinConfig {
        func fail(_ key: String, _ reason: String) -> ConfigError { ConfigError(location: origins[key] ?? "default", key: key, reason: reason) }
        guard var s = SwinConfig.preset(model.preset) else { throw fail("model.preset", "unknown preset") }
        s.imageSize = [frontend.imageHeight, frontend.imageWidth]
        s.inChannels = 1
        if model.embeddingDim > 0 && model.embeddingDim != embeddingDim {
            throw fail("model.embedding_dim", "is \(model.embeddingDim) but the data's embeddings have D = \(embeddingDim)")
        }
        s.embeddingSize = embeddingDim
        if model.window > 0 { s.windowSize = model.window }
        if model.dropPath >= 0 { s.dropPathRate = model.dropPath }
        if model.embedDim > 0 { s.embedDim = model.embedDim }
        if model.patchSize > 0 { s.patchSize = model.patchSize }
        if model.mlpRatio > 0 { s.mlpRatio = model.mlpRatio }
        if !model.depths.isEmpty { s.depths = model.depths }
        if !model.numHeads.isEmpty { s.numHeads = model.numHeads }
        guard s.depths.count == s.numHeads.count else {
            throw fail(model.numHeads.isEmpty ? "model.depths" : "model.num_heads",
                       "\(s.depths.count) stages of depths \(s.depths) but \(s.numHeads.count) head counts \(s.numHeads)")
        }
        for (i, h) in s.numHeads.enumerated() where s.stageDim(i) % h != 0 {
            throw fail("model.num_heads", "stage \(i) has \(s.stageDim(i)) channels (embed_dim \(s.embedDim) × 2^\(i)), not divisible by \(h) heads")
        }
        return s
    }

    /// This config for a run of `worldSize` ranks: `global_batch` (when set) divided into the
    /// per-rank batch. Throws naming the key when it does not divide.
    public func resolved(worldSize: Int) throws -> TrainConfig {
        var c = self
        guard data.globalBatch > 0 else { return c }
        guard data.globalBatch % max(1, worldSize) == 0 else {
            throw ConfigError(location: origins["data.global_batch"] ?? "default", key: "data.global_batch",
                              reason: "\(data.globalBatch) does not divide evenly over \(worldSize) ranks")
        }
        if let set = origins["data.batch_per_rank"], data.batchPerRank != data.globalBatch / worldSize {
            throw ConfigError(location: set, key: "data.batch_per_rank",
                              reason: "is \(data.batchPerRank) but data.global_batch \(data.globalBatch) over \(worldSize) ranks gives \(data.globalBatch / worldSize); set one of them")
        }
        c.data.batchPerRank = data.globalBatch / max(1, worldSize)
        return c
    }

    /// Checks ranges and choices; errors name the key and where it was set.
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ reason: String) throws {
            if !ok { throw ConfigError(location: origins[key] ?? "default", key: key, reason: reason) }
        }
        try check(SwinConfig.presetNames.contains(model.preset), "model.preset", "unknown preset \"\(model.preset)\" (known: \(SwinConfig.presetNames.joined(separator: ", ")))")
        try check(model.window >= 0, "model.window", "must be ≥ 0 (0 = the preset's), got \(model.window)")
        try check(model.dropPath < 1 && model.dropPath.isFinite, "model.drop_path", "must be < 1, got \(model.dropPath)")
        try check((1...65_536).contains(data.batchPerRank), "data.batch_per_rank", "must be in 1...65536, got \(data.batchPerRank)")
        try check((0...(1 << 24)).contains(data.globalBatch), "data.global_batch", "must be in 0...2^24 (0 = batch_per_rank × ranks), got \(data.globalBatch)")
        try check(model.embedDim >= 0 && model.embedDim <= 4096, "model.embed_dim", "must be in 0...4096 (0 = the preset's), got \(model.embedDim)")
        try check(model.depths.count <= 8 && model.depths.allSatisfy { (1...64).contains($0) }, "model.depths",
                  "must be up to 8 stages of 1...64 blocks, got \(model.depths)")
        try check(model.numHeads.allSatisfy { (1...256).contains($0) }, "model.num_heads", "must be 1...256 heads per stage, got \(model.numHeads)")
        try check(model.mlpRatio == 0 || (model.mlpRatio > 0 && model.mlpRatio <= 16), "model.mlp_ratio", "must be in (0, 16] (0 = the preset's), got \(model.mlpRatio)")
        try check((0...32).contains(model.patchSize), "model.patch_size", "must be in 0...32 (0 = the preset's), got \(model.patchSize)")
        try check((0...65_536).contains(model.embeddingDim), "model.embedding_dim", "must be in 0...65536 (0 = the data's D), got \(model.embeddingDim)")
        try check((1...256).contains(data.workers), "data.workers", "must be in 1...256, got \(data.workers)")
        try check((1...64).contains(data.prefetch), "data.prefetch", "must be in 1...64, got \(data.prefetch)")
        try check(!data.trainManifest.isEmpty, "data.train_manifest", "must name a manifest.json")
        if data.synthIfMissing {
            // The demo set is only ever written where the demo set belongs: …/demo/train/manifest.json.
            let parts = URL(fileURLWithPath: data.trainManifest).pathComponents.suffix(3)
            try check(Array(parts) == ["demo", "train", "manifest.json"], "data.synth_if_missing",
                      "builds the demo set, so train_manifest must be …/demo/train/manifest.json (got \(data.trainManifest)); "
                      + "real data is made with avtool data pack")
        }
        for (key, w) in [("audio_text", loss.audioText), ("audio_image", loss.audioImage), ("audio_audio", loss.audioAudio),
                         ("weak_kd", loss.weakKD), ("momentum_kd", loss.momentumKD)] {
            try check(w >= 0 && w.isFinite, "loss.\(key)", "must be a finite weight ≥ 0, got \(w)")
        }
        try check(loss.audioText + loss.audioImage + loss.audioAudio + loss.weakKD + loss.momentumKD > 0 || loss.alpha >= 0,
                  "loss.audio_text", "every loss weight is zero")
        try check(loss.tauKD > 0 && loss.tauKD.isFinite, "loss.tau_kd", "must be positive, got \(loss.tauKD)")
        try check(loss.logitScaleInit.isFinite, "loss.logit_scale_init", "must be finite, got \(loss.logitScaleInit)")
        try check((0...1).contains(loss.emaMomentum), "loss.ema_momentum", "must be in [0, 1], got \(loss.emaMomentum)")
        try check(loss.emaMomentumEnd < 0 || (0...1).contains(loss.emaMomentumEnd), "loss.ema_momentum_end",
                  "must be in [0, 1] (negative = constant momentum), got \(loss.emaMomentumEnd)")
        try check(loss.alpha.isFinite && loss.alpha <= 1, "loss.alpha", "must be in [0, 1] (negative = off), got \(loss.alpha)")
        if loss.alpha >= 0 {
            for key in ["loss.audio_image", "loss.momentum_kd"] where origins[key] != nil {
                try check(false, key, "is set by loss.alpha (audio_image = 1 − α, momentum_kd = α/2); remove one of them")
            }
        }
        try check((0...(1 << 40)).contains(loss.alphaRampSteps), "loss.alpha_ramp_steps", "must be in 0...2^40, got \(loss.alphaRampSteps)")
        try check(loss.logitScaleMax > 0 && loss.logitScaleMax.isFinite, "loss.logit_scale_max", "must be positive, got \(loss.logitScaleMax)")
        try check(optim.lr > 0 && optim.lr.isFinite, "optim.lr", "must be positive, got \(optim.lr)")
        try check(optim.weightDecay >= 0 && optim.weightDecay.isFinite, "optim.weight_decay", "must be ≥ 0, got \(optim.weightDecay)")
        try check(optim.betas.count == 2 && optim.betas.allSatisfy { (0..<1).contains($0) }, "optim.betas",
                  "must be two numbers in [0, 1), got \(optim.betas)")
        try check(optim.eps > 0 && optim.eps.isFinite, "optim.eps", "must be positive and finite, got \(optim.eps)")
        try check((0..<1).contains(optim.momentum), "optim.momentum", "must be in [0, 1), got \(optim.momentum)")
        try check(optim.warmupSteps >= 0, "optim.warmup_steps", "must be ≥ 0, got \(optim.warmupSteps)")
        try check((1...(1 << 40)).contains(optim.cycleSteps), "optim.cycle_steps", "must be in 1...2^40, got \(optim.cycleSteps)")
        try check((1...64).contains(optim.cycleMult), "optim.cycle_mult", "must be in 1...64, got \(optim.cycleMult)")
        try check((1...(1 << 40)).contains(optim.decaySteps), "optim.decay_steps", "must be in 1...2^40, got \(optim.decaySteps)")
        try check(optim.decayFactor > 0 && optim.decayFactor <= 1, "optim.decay_factor", "must be in (0, 1], got \(optim.decayFactor)")
        try check(optim.noDecay.allSatisfy { !$0.isEmpty }, "optim.no_decay", "patterns must not be empty strings")
        try check(optim.minLR >= 0 && optim.minLR <= optim.lr, "optim.min_lr", "must be in [0, lr], got \(optim.minLR)")
        try check(optim.gradClip >= 0 && optim.gradClip.isFinite, "optim.grad_clip", "must be ≥ 0 (0 = off), got \(optim.gradClip)")
        try check(optim.warmupSteps <= 1 << 40, "optim.warmup_steps", "must be at most 2^40, got \(optim.warmupSteps)")
        try check(train.epochs > 0 || train.steps > 0, "train.epochs", "epochs or steps must be positive")
        try check((0...1_000_000).contains(train.epochs), "train.epochs", "must be in 0...1000000, got \(train.epochs)")
        try check((0...(1 << 40)).contains(train.steps), "train.steps", "must be in 0...2^40, got \(train.steps)")
        try check(train.seed >= 0, "train.seed", "must be ≥ 0, got \(train.seed)")
        try check((0...1024).contains(train.threads), "train.threads", "must be in 0...1024 (0 = automatic), got \(train.threads)")
        try check(train.logEvery > 0, "train.log_every", "must be positive, got \(train.logEvery)")
        try check(train.checkpointEvery >= 0, "train.checkpoint_every", "must be ≥ 0, got \(train.checkpointEvery)")
        try check((1...100_000).contains(train.keepLast), "train.keep_last", "must be in 1...100000, got \(train.keepLast)")
        try check(train.maxBadSteps > 0, "train.max_bad_steps", "must be positive, got \(train.maxBadSteps)")
        try check(!train.outDir.isEmpty, "train.out_dir", "must name a folder")
        try check(dist.bucketMB >= 0.001 && dist.bucketMB <= 2048, "dist.bucket_mb", "must be in 0.001...2048 MB, got \(dist.bucketMB)")
        try check(dist.timeoutS >= 1 && dist.timeoutS <= 86_400, "dist.timeout_s", "must be in 1...86400 s, got \(dist.timeoutS)")
        if eval.enabled {
            try check(eval.manifest.isEmpty || eval.root.isEmpty, "eval.root", "set either eval.manifest (shards) or eval.dataset + eval.root, not both")
            try check(eval.manifest.isEmpty ? ["esc50", "us8k"].contains(eval.dataset) : eval.dataset.isEmpty || eval.dataset == "shards",
                      "eval.dataset", "must be \"esc50\" or \"us8k\" with eval.root, got \"\(eval.dataset)\"")
            try check(!eval.classes.isEmpty, "eval.classes", "must name the class-embedding file when evaluation is on")
            try check(eval.every >= 0, "eval.every", "must be ≥ 0 (0 = at the end only), got \(eval.every)")
            try check((1...4096).contains(eval.batch), "eval.batch", "must be in 1...4096, got \(eval.batch)")
            try check(!eval.ema || loss.momentumKD > 0, "eval.ema", "needs the EMA teacher (loss.momentum_kd > 0)")
        }
        do { try frontend.validate() } catch let e as FrontEndConfigError {
            let key = "frontend." + (ConfigSchema.frontendNames[e.key] ?? e.key)
            throw ConfigError(location: origins[key] ?? "default", key: key, reason: e.reason)
        }
        // The encoder's geometry against the input: the window fits the patch grid, and every
        // patch merging halves an even resolution.
        do {
            let s = try swinConfig(embeddingDim: model.embeddingDim > 0 ? model.embeddingDim : 1)
            let p = s.patchSize, stages = s.depths.count, w = s.windowSize
            let (h, wd) = (frontend.imageHeight, frontend.imageWidth), unit = p << (stages - 1)
            for (key, size) in [("frontend.image_height", h), ("frontend.image_width", wd)] where size % unit != 0 {
                try check(false, key, "must be a multiple of \(unit) (patch \(p) × 2^\(stages - 1) patch mergings of \(model.preset)), got \(size)")
            }
            try check(w <= min(h, wd) / p, "model.window", "window \(w) is larger than the \(h / p)×\(wd / p) patch grid of the \(h)×\(wd) input")
        }
    }
}
