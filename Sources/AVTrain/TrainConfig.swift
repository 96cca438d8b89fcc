import Foundation
import AVAudio
import AVLoss
import AVModel

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
    }

    /// `[data]`: the training set and loader.
    public struct DataSection: Codable, Equatable, Sendable {
        /// `train_manifest`: manifest.json of the training shards (relative to the working directory).
        public var trainManifest = "Datasets/data/demo/train/manifest.json"
        /// `batch_per_rank`: clips per rank per step; the global batch is this × ranks.
        public var batchPerRank = 32
        /// `workers`: loader feature threads per rank.
        public var workers = 2
        /// `prefetch`: batches prepared ahead.
        public var prefetch = 3
        /// `on_bad_clip`: "stop" or "skip".
        public var onBadClip = "stop"
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
        /// `ema_momentum`: EMA encoder momentum m (used only when momentum_kd > 0).
        public var emaMomentum: Float = 0.995

        public var weights: LossWeights {
            LossWeights(audioText: audioText, audioImage: audioImage, audioAudio: audioAudio, weakKD: weakKD,
                        momentumKD: momentumKD, tauKD: tauKD)
        }
    }

    /// `[optim]`: optimiser and schedule.
    public struct Optim: Codable, Equatable, Sendable {
        /// `optimizer`: "adamw" or "sgd" (momentum, coupled weight decay as torch.optim.SGD).
        public var optimizer = "adamw"
        /// `lr`: peak learning rate.
        public var lr: Float = 1e-4
        public var weightDecay: Float = 0.05
        public var betas: [Float] = [0.9, 0.999]
        public var eps: Float = 1e-8
        /// `momentum`: SGD momentum.
        public var momentum: Float = 0.9
        /// `warmup_steps`: linear warmup from 0 to lr.
        public var warmupSteps = 0
        /// `schedule`: "cosine" (to min_lr at the last step) or "constant".
        public var schedule = "cosine"
        public var minLR: Float = 0
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

    public var model = Model()
    public var data = DataSection()
    public var eval = Eval()
    /// `[frontend]`: overrides of `FrontEndConfig` (snake_case names, e.g. `n_mels`, `clip_samples`).
    public var frontend = FrontEndConfig.default16k
    public var loss = Loss()
    public var optim = Optim()
    public var train = Run()

    public init() {}

    /// Where each key was set ("file:line" or "--set"), for errors found after parsing.
    public var origins: [String: String] = [:]

    private enum CodingKeys: String, CodingKey { case model, data, frontend, loss, optim, train, eval }

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

    /// Checks ranges and choices; errors name the key and where it was set.
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ reason: String) throws {
            if !ok { throw ConfigError(location: origins[key] ?? "default", key: key, reason: reason) }
        }
        try check(SwinConfig.presetNames.contains(model.preset), "model.preset", "unknown preset \"\(model.preset)\" (known: \(SwinConfig.presetNames.joined(separator: ", ")))")
        try check(model.window >= 0, "model.window", "must be ≥ 0 (0 = the preset's), got \(model.window)")
        try check(model.dropPath < 1 && model.dropPath.isFinite, "model.drop_path", "must be < 1, got \(model.dropPath)")
        try check((1...65_536).contains(data.batchPerRank), "data.batch_per_rank", "must be in 1...65536, got \(data.batchPerRank)")
        try check((1...256).contains(data.workers), "data.workers", "must be in 1...256, got \(data.workers)")
        try check((1...64).contains(data.prefetch), "data.prefetch", "must be in 1...64, got \(data.prefetch)")
        try check(["stop", "skip"].contains(data.onBadClip), "data.on_bad_clip", "must be \"stop\" or \"skip\", got \"\(data.onBadClip)\"")
        try check(!data.trainManifest.isEmpty, "data.train_manifest", "must name a manifest.json")
        for (key, w) in [("audio_text", loss.audioText), ("audio_image", loss.audioImage), ("audio_audio", loss.audioAudio),
                         ("weak_kd", loss.weakKD), ("momentum_kd", loss.momentumKD)] {
            try check(w >= 0 && w.isFinite, "loss.\(key)", "must be a finite weight ≥ 0, got \(w)")
        }
        try check(loss.audioText + loss.audioImage + loss.audioAudio + loss.weakKD + loss.momentumKD > 0, "loss.audio_text",
                  "every loss weight is zero")
        try check(loss.tauKD > 0 && loss.tauKD.isFinite, "loss.tau_kd", "must be positive, got \(loss.tauKD)")
        try check(loss.logitScaleInit.isFinite, "loss.logit_scale_init", "must be finite, got \(loss.logitScaleInit)")
        try check((0...1).contains(loss.emaMomentum), "loss.ema_momentum", "must be in [0, 1], got \(loss.emaMomentum)")
        try check(["adamw", "sgd"].contains(optim.optimizer), "optim.optimizer", "must be \"adamw\" or \"sgd\", got \"\(optim.optimizer)\"")
        try check(optim.lr > 0 && optim.lr.isFinite, "optim.lr", "must be positive, got \(optim.lr)")
        try check(optim.weightDecay >= 0 && optim.weightDecay.isFinite, "optim.weight_decay", "must be ≥ 0, got \(optim.weightDecay)")
        try check(optim.betas.count == 2 && optim.betas.allSatisfy { (0..<1).contains($0) }, "optim.betas",
                  "must be two numbers in [0, 1), got \(optim.betas)")
        try check(optim.eps > 0 && optim.eps.isFinite, "optim.eps", "must be positive and finite, got \(optim.eps)")
        try check((0..<1).contains(optim.momentum), "optim.momentum", "must be in [0, 1), got \(optim.momentum)")
        try check(optim.warmupSteps >= 0, "optim.warmup_steps", "must be ≥ 0, got \(optim.warmupSteps)")
        try check(["cosine", "constant"].contains(optim.schedule), "optim.schedule", "must be \"cosine\" or \"constant\", got \"\(optim.schedule)\"")
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
        if let s = SwinConfig.preset(model.preset) {
            let p = s.patchSize, stages = s.depths.count, w = model.window > 0 ? model.window : s.windowSize
            let (h, wd) = (frontend.imageHeight, frontend.imageWidth), unit = p << (stages - 1)
            for (key, size) in [("frontend.image_height", h), ("frontend.image_width", wd)] where size % unit != 0 {
                try check(false, key, "must be a multiple of \(unit) (patch \(p) × 2^\(stages - 1) patch mergings of \(model.preset)), got \(size)")
            }
            try check(w <= min(h, wd) / p, "model.window", "window \(w) is larger than the \(h / p)×\(wd / p) patch grid of the \(h)×\(wd) input")
        }
    }
}
