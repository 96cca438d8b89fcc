import Foundation
import AVTensor
import AVSafetensors
import AVEval

/// Checkpoint format (safetensors, F32, nothing executable):
/// - `model.<timm name>`: encoder weights; `ema.<timm name>`: EMA teacher (when momentum_kd > 0);
/// - `optim.<state>.<timm name>`: optimiser state per parameter (AdamW `m`, `v`; SGD `m`),
///   and `optim.<state>.logit_scale`; `logit_scale` [1]: the raw learnable logit scale.
/// - metadata: `format` = avtrain-checkpoint, `format_version` (2; absent = 1), `step` (batches
///   consumed), `epoch`, `position` (batch within the epoch), `optimizer_step`, `skipped_steps`,
///   `world_size`, `global_batch`, `optimizer`, `rng` (how randomness is derived: per (seed, epoch,
///   clip) in the loader and per (seed, step, rank) for drop path, so the step is the whole RNG
///   state), `config` (the resolved config, JSON), `config_toml` (the same as a TOML config file,
///   with the threads actually used: `avtool ckpt config`), `encoder` (the EncoderSpec JSON that
///   avembed and export read).
extension Trainer {
    /// The checkpoint format version this build writes; it reads 1 and 2.
    public static let checkpointVersion = 2

    /// Rank 0 writes out_dir/step-XXXXXXXX.safetensors atomically and keeps the newest `keep_last`;
    /// every rank waits for it. Returns the path (on every rank). A failed write is an error
    /// naming the file; the previous checkpoints are kept.
    @discardableResult
    public func saveCheckpoint() throws -> String {
        let dir = config.train.outDir
        let path = Checkpoints.path(in: dir, step: step)
        if comm.rank == 0 {
            let watch = Stopwatch()
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)   // library use: no RunDirectory
            var w = SafetensorsWriter(metadata: checkpointMetadata())
            func add(_ prefix: String, _ base: UnsafeMutablePointer<Float>) {
                for v in model.params.views {
                    w.add(prefix + v.name, shape: v.shape, floats: UnsafeBufferPointer(start: base + v.offset, count: v.count))
                }
            }
            add("model.", model.params.values.ptr)
            if let ema { add("ema.", ema.params.values.ptr) }
            for (name, t) in optimizer.state { add("optim.\(name).", t.ptr) }
            for (name, t) in scaleOptimizer.state { w.add("optim.\(name).logit_scale", shape: [1], floats: [t.ptr[0]]) }
            w.add("logit_scale", shape: [1], floats: [logitScale.values.ptr[0]])
            do { try w.write(to: path) } catch {
                throw TrainError("checkpoint \(path) could not be written (\(error)); the previous checkpoints are kept")
            }
            Checkpoints.prune(in: dir, keep: config.train.keepLast)
            log("checkpoint \(path) (\(String(format: "%.1f", watch.seconds)) s)")
        }
        try comm.barrier()
        lastCheckpointStep = step
        return path
    }

    func checkpointMetadata() -> [String: String] {
        let bpe = loader.batchesPerEpoch
        return ["format": "avtrain-checkpoint", "format_version": String(Trainer.checkpointVersion), "step": String(step),
                "epoch": String(step / bpe), "position": String(step % bpe),
                "optimizer_step": String(optimizer.step), "skipped_steps": String(skippedSteps), "world_size": String(comm.size),
                "global_batch": String(comm.size * config.data.batchPerRank), "optimizer": config.optim.optimizer.rawValue,
                "rng": "derived: loader per (seed \(config.train.seed), epoch, clip id); drop path per (seed, step, rank)",
                "config": config.json(), "config_toml": resolvedConfigTOML(), "encoder": encoderSpecJSON()]
    }

    /// The resolved config as a TOML file (`avtrain --config` reads it back): every key, the
    /// threads actually used, and the model's sizes as comments.
    func resolvedConfigTOML() -> String {
        var c = config
        c.train.threads = Threads.count
        let m = model.config
        return "# avtrain config resolved at step \(step) (\(comm.size) rank(s)); model: \(m.depths.count)-stage Swin, embed_dim \(m.embedDim), "
            + "depths \(m.depths), num_heads \(m.numHeads), window \(m.windowSize), input \(m.imageSize), D \(m.embeddingSize), "
            + "\(model.params.parameterCount) parameters\n" + c.tomlText()
    }

    /// The `encoder` metadata: what `avembed`/`avtool export` need to rebuild the encoder and its
    /// front-end from this checkpoint alone (EncoderSpec JSON).
    func encoderSpecJSON() -> String {
        let spec = EncoderSpec(model: model.config, frontend: config.frontend, source: .init(checkpoint: "", step: step, ema: false),
                               logitScale: min(exp(logitScale.values.ptr[0]), 100))
        return (try? spec.json()).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Checks that `path` is a complete checkpoint this run can continue from — readable header
    /// and offsets, a known format version, sane step counters, every tensor the model and
    /// optimiser need with the right shape, the same global batch and optimiser — without
    /// changing anything. Returns the open file and its step.
    public func validateCheckpoint(_ path: String) throws -> (file: SafetensorsFile, step: Int) {
        let f: SafetensorsFile
        do { f = try SafetensorsFile(path: path) } catch { throw TrainError("\(error)") }
        let md = f.metadata
        guard md["format"] == "avtrain-checkpoint" else { throw TrainError("\(path): not an avtrain checkpoint (metadata 'format')") }
        let version = md["format_version"].map { Int($0) ?? -1 } ?? 1
        guard (1...Trainer.checkpointVersion).contains(version) else {
            throw TrainError("\(path): checkpoint format version \(md["format_version"] ?? "?") is not one this build reads (1...\(Trainer.checkpointVersion))")
        }
        func count(_ key: String) throws -> Int {
            guard let s = md[key], let v = Int(s), v >= 0, v <= 1 << 40 else {
                throw TrainError("\(path): metadata '\(key)' is \(md[key].map { "'\($0)'" } ?? "missing"), not a step count in 0...2^40")
            }
            return v
        }
        let s = try count("step"), os = try count("optimizer_step"), skipped = md["skipped_steps"] == nil ? 0 : try count("skipped_steps")
        guard os <= s, skipped <= s, os + skipped <= s else {
            throw TrainError("\(path): metadata says \(os) optimiser steps and \(skipped) skipped steps in \(s) steps (impossible)")
        }
        guard s <= totalSteps else {
            throw TrainError("\(path): checkpoint is at step \(s), beyond this run's \(totalSteps) steps (raise [train] steps or epochs)")
        }
        let global = comm.size * config.data.batchPerRank
        if let g = md["global_batch"].flatMap(Int.init), g != global {
            throw TrainError("\(path): written with global batch \(g), this run has \(global) (\(comm.size) ranks × \(config.data.batchPerRank)); "
                             + "the data order would differ")
        }
        if let o = md["optimizer"], o != config.optim.optimizer.rawValue {
            throw TrainError("\(path): optimiser state is \(o), the config says \(config.optim.optimizer)")
        }
        var need = model.params.views.map { ("model." + $0.name, $0.shape) }
        for (name, _) in optimizer.state { need += model.params.views.map { ("optim.\(name).\($0.name)", $0.shape) } }
        for (name, _) in scaleOptimizer.state { need.append(("optim.\(name).logit_scale", [1])) }
        need.append(("logit_scale", [1]))
        if ema != nil && f.entries["ema.head.fc.weight"] != nil { need += model.params.views.map { ("ema." + $0.name, $0.shape) } }
        for (name, shape) in need {
            guard let e = f.entries[name] else { throw TrainError("\(path): tensor \(name) missing") }
            guard e.shape == shape else { throw TrainError("\(path): tensor \(name) has shape \(e.shape), this model needs \(shape)") }
        }
        return (f, s)
    }

    /// Restores weights, EMA, optimiser state, logit scale and the step from `path` (every rank
    /// reads the file) after `validateCheckpoint`.
    public func restore(from path: String) throws {
        let (f, s) = try validateCheckpoint(path)
        func load(_ name: String, into p: UnsafeMutablePointer<Float>, count: Int) throws {
            let dst = UnsafeMutableBufferPointer(start: p, count: count)
            try f.readFloats(name, into: dst)
            if let bad = dst.firstIndex(where: { !$0.isFinite }) {
                throw TrainError("\(path): tensor \(name) holds a non-finite value at element \(bad)")
            }
        }
        func loadAll(_ prefix: String, _ base: UnsafeMutablePointer<Float>) throws {
            for v in model.params.views { try load(prefix + v.name, into: base + v.offset, count: v.count) }
        }
        try loadAll("model.", model.params.values.ptr)
        if let ema {
            if f.entries["ema.head.fc.weight"] != nil { try loadAll("ema.", ema.params.values.ptr) }
            else { ema.params.values.ptr.update(from: model.params.values.ptr, count: model.params.count) }
        }
        for (name, t) in optimizer.state { try loadAll("optim.\(name).", t.ptr) }
        for (name, t) in scaleOptimizer.state { try load("optim.\(name).logit_scale", into: t.ptr, count: 1) }
        try load("logit_scale", into: logitScale.values.ptr, count: 1)
        let os = Int(f.metadata["optimizer_step"] ?? "") ?? 0
        optimizer.step = os
        scaleOptimizer.step = os
        step = s
        skippedSteps = f.metadata["skipped_steps"].flatMap(Int.init) ?? 0
        lastCheckpointStep = s
    }

    /// `--resume latest`: the newest checkpoint in out_dir that validates; each newer one that
    /// does not is reported through `log` and skipped. Nil when there is none.
    public func latestValidCheckpoint() -> String? {
        for path in Checkpoints.list(in: config.train.outDir).reversed() {
            do { _ = try validateCheckpoint(path); return path } catch {
                if comm.rank == 0 { log("skipping checkpoint \(path): \(error)") }
            }
        }
        return nil
    }

    /// Starts from the weights of a checkpoint, run folder or export (`--init`): encoder (and
    /// EMA) weights only; optimiser, step and logit scale start fresh.
    public func initialize(from path: String) throws {
        do { try EncoderWeights.open(path).load(into: model) } catch { throw TrainError("--init \(path): \(error)") }
        ema?.params.values.ptr.update(from: model.params.values.ptr, count: model.params.count)
    }
}
