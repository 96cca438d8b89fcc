import AVAudio

/// How one config key is typed and stored.
struct ConfigField {
    /// The expected type, for errors ("integer", "number", "string", "boolean", "array of numbers").
    let type: String
    /// Stores the value; false if it has the wrong type.
    let set: (inout TrainConfig, TOMLValue) -> Bool
    /// The current value (for writing the resolved config back as TOML).
    let get: (TrainConfig) -> TOMLValue

    static func int(_ kp: WritableKeyPath<TrainConfig, Int>) -> ConfigField {
        ConfigField(type: "integer", set: { c, v in
            guard case .integer(let i) = v else { return false }
            c[keyPath: kp] = i; return true
        }, get: { .integer($0[keyPath: kp]) })
    }

    /// A float key accepts integers too (`lr = 1` is 1.0). Written back as the Float's shortest
    /// decimal form, so that reading it again gives the same Float.
    static func float(_ kp: WritableKeyPath<TrainConfig, Float>) -> ConfigField {
        ConfigField(type: "number", set: { c, v in
            guard let f = number(v) else { return false }
            c[keyPath: kp] = f; return true
        }, get: { .float(Double("\($0[keyPath: kp])") ?? .nan) })
    }

    static func string(_ kp: WritableKeyPath<TrainConfig, String>) -> ConfigField {
        ConfigField(type: "string", set: { c, v in
            guard case .string(let s) = v else { return false }
            c[keyPath: kp] = s; return true
        }, get: { .string($0[keyPath: kp]) })
    }

    /// A string key with a fixed set of values (an enum): anything else is an error listing them.
    static func choice<E: RawRepresentable & CaseIterable>(_ kp: WritableKeyPath<TrainConfig, E>) -> ConfigField where E.RawValue == String {
        ConfigField(type: "one of " + E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "), set: { c, v in
            guard case .string(let s) = v, let e = E(rawValue: s) else { return false }
            c[keyPath: kp] = e; return true
        }, get: { .string($0[keyPath: kp].rawValue) })
    }

    static func bool(_ kp: WritableKeyPath<TrainConfig, Bool>) -> ConfigField {
        ConfigField(type: "boolean", set: { c, v in
            guard case .boolean(let b) = v else { return false }
            c[keyPath: kp] = b; return true
        }, get: { .boolean($0[keyPath: kp]) })
    }

    static func floats(_ kp: WritableKeyPath<TrainConfig, [Float]>) -> ConfigField {
        ConfigField(type: "array of numbers", set: { c, v in
            guard case .array(let a) = v else { return false }
            let f = a.compactMap(number)
            guard f.count == a.count else { return false }
            c[keyPath: kp] = f; return true
        }, get: { .array($0[keyPath: kp].map { .float(Double("\($0)") ?? .nan) }) })
    }

    static func ints(_ kp: WritableKeyPath<TrainConfig, [Int]>) -> ConfigField {
        ConfigField(type: "array of integers", set: { c, v in
            guard case .array(let a) = v else { return false }
            let i = a.compactMap { if case .integer(let x) = $0 { return x } else { return nil } }
            guard i.count == a.count else { return false }
            c[keyPath: kp] = i; return true
        }, get: { .array($0[keyPath: kp].map { .integer($0) }) })
    }

    static func strings(_ kp: WritableKeyPath<TrainConfig, [String]>) -> ConfigField {
        ConfigField(type: "array of strings", set: { c, v in
            guard case .array(let a) = v else { return false }
            let s = a.compactMap { if case .string(let x) = $0 { return x } else { return nil } }
            guard s.count == a.count else { return false }
            c[keyPath: kp] = s; return true
        }, get: { .array($0[keyPath: kp].map { .string($0) }) })
    }

    static func number(_ v: TOMLValue) -> Float? {
        switch v {
        case .integer(let i): return Float(i)
        case .float(let d): return Float(d)
        default: return nil
        }
    }
}

/// The keys of every section.
enum ConfigSchema {
    /// Sections in the order a written config lists them.
    static let order = ["model", "data", "frontend", "loss", "optim", "train", "dist", "eval"]

    static let sections: [String: [String: ConfigField]] = [
        "model": [
            "preset": .string(\.model.preset),
            "window": .int(\.model.window),
            "drop_path": .float(\.model.dropPath),
            "embed_dim": .int(\.model.embedDim),
            "depths": .ints(\.model.depths),
            "num_heads": .ints(\.model.numHeads),
            "mlp_ratio": .float(\.model.mlpRatio),
            "patch_size": .int(\.model.patchSize),
            "embedding_dim": .int(\.model.embeddingDim),
        ],
        "data": [
            "train_manifest": .string(\.data.trainManifest),
            "batch_per_rank": .int(\.data.batchPerRank),
            "global_batch": .int(\.data.globalBatch),
            "workers": .int(\.data.workers),
            "prefetch": .int(\.data.prefetch),
            "on_bad_clip": .choice(\.data.onBadClip),
            "synth_if_missing": .bool(\.data.synthIfMissing),
        ],
        "frontend": frontend,
        "dist": [
            "overlap": .bool(\.dist.overlap),
            "bucket_mb": .float(\.dist.bucketMB),
            "timeout_s": .float(\.dist.timeoutS),
        ],
        "eval": [
            "manifest": .string(\.eval.manifest),
            "dataset": .string(\.eval.dataset),
            "root": .string(\.eval.root),
            "classes": .string(\.eval.classes),
            "every": .int(\.eval.every),
            "ema": .bool(\.eval.ema),
            "batch": .int(\.eval.batch),
        ],
        "loss": [
            "audio_text": .float(\.loss.audioText),
            "audio_image": .float(\.loss.audioImage),
            "audio_audio": .float(\.loss.audioAudio),
            "weak_kd": .float(\.loss.weakKD),
            "momentum_kd": .float(\.loss.momentumKD),
            "tau_kd": .float(\.loss.tauKD),
            "logit_scale_init": .float(\.loss.logitScaleInit),
            "ema_momentum": .float(\.loss.emaMomentum),
            "ema_momentum_end": .float(\.loss.emaMomentumEnd),
            "alpha": .float(\.loss.alpha),
            "alpha_ramp_steps": .int(\.loss.alphaRampSteps),
            "logit_scale_max": .float(\.loss.logitScaleMax),
        ],
        "optim": [
            "optimizer": .choice(\.optim.optimizer),
            "lr": .float(\.optim.lr),
            "weight_decay": .float(\.optim.weightDecay),
            "betas": .floats(\.optim.betas),
            "eps": .float(\.optim.eps),
            "momentum": .float(\.optim.momentum),
            "warmup_steps": .int(\.optim.warmupSteps),
            "schedule": .choice(\.optim.schedule),
            "min_lr": .float(\.optim.minLR),
            "cycle_steps": .int(\.optim.cycleSteps),
            "cycle_mult": .int(\.optim.cycleMult),
            "decay_steps": .int(\.optim.decaySteps),
            "decay_factor": .float(\.optim.decayFactor),
            "no_decay": .strings(\.optim.noDecay),
            "grad_clip": .float(\.optim.gradClip),
        ],
        "train": [
            "epochs": .int(\.train.epochs),
            "steps": .int(\.train.steps),
            "seed": .int(\.train.seed),
            "threads": .int(\.train.threads),
            "log_every": .int(\.train.logEvery),
            "checkpoint_every": .int(\.train.checkpointEvery),
            "keep_last": .int(\.train.keepLast),
            "out_dir": .string(\.train.outDir),
            "max_bad_steps": .int(\.train.maxBadSteps),
        ],
    ]

    /// The one table of `[frontend]` keys: config key (snake_case), `FrontEndConfig` field, type.
    static let frontendTable: [(key: String, field: String, ConfigField)] = [
        ("sample_rate", "sampleRate", .int(\.frontend.sampleRate)),
        ("n_fft", "nFFT", .int(\.frontend.nFFT)),
        ("win_length", "winLength", .int(\.frontend.winLength)),
        ("hop_length", "hopLength", .int(\.frontend.hopLength)),
        ("n_mels", "nMels", .int(\.frontend.nMels)),
        ("fmin", "fmin", .float(\.frontend.fmin)),
        ("fmax", "fmax", .float(\.frontend.fmax)),
        ("mel_scale", "melScale", .choice(\.frontend.melScale)),
        ("mel_norm", "melNorm", .choice(\.frontend.melNorm)),
        ("clip_samples", "clipSamples", .int(\.frontend.clipSamples)),
        ("pad", "pad", .choice(\.frontend.pad)),
        ("fold", "fold", .bool(\.frontend.fold)),
        ("image_height", "imageHeight", .int(\.frontend.imageHeight)),
        ("image_width", "imageWidth", .int(\.frontend.imageWidth)),
        ("norm_mean", "normMean", .float(\.frontend.normMean)),
        ("norm_std", "normStd", .float(\.frontend.normStd)),
        ("freq_masks", "freqMasks", .int(\.frontend.freqMasks)),
        ("freq_max_fraction", "freqMaxFraction", .float(\.frontend.freqMaxFraction)),
        ("time_masks", "timeMasks", .int(\.frontend.timeMasks)),
        ("time_max_fraction", "timeMaxFraction", .float(\.frontend.timeMaxFraction)),
        ("time_warp", "timeWarp", .int(\.frontend.timeWarp)),
    ]

    /// `[frontend]` keys → their fields.
    static let frontend = Dictionary(uniqueKeysWithValues: frontendTable.map { ($0.key, $0.2) })

    /// `FrontEndConfig` field name → config key, for its validation errors.
    static let frontendNames = Dictionary(uniqueKeysWithValues: frontendTable.map { ($0.field, $0.key) })
}
