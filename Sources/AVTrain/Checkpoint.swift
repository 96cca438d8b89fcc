import Foundation
import AVTensor
import AVSafetensors
import AVEval

/// Checkpoint format (safetensors, F32, nothing executable):
/// - `model.<timm name>`: encoder weights; `ema.<timm name>`: EMA teacher (when momentum_kd > 0);
/// - `optim.<state>.<timm name>`: optimiser state per parameter (AdamW `m`, `v`; SGD `m`),
///   and `optim.<state>.logit_scale`; `logit_scale` [1]: the raw learnable logit scale.
/// - metadata: `encoder` (the EncoderSpec JSON avembed and export read), `format` = avtrain-checkpoint, `step` (batches consumed), `epoch`, `position`
///   (batch within the epoch), `optimizer_step`, `skipped_steps`, `world_size`, `global_batch`,
///   `rng` (how randomness is derived: per (seed, epoch, clip) in the loader and per (seed, step,
///   rank) for drop path, so the step is the whole RNG state), `config` (the resolved config, JSON).
extension Trainer {
    /// Rank 0 writes out_dir/step-XXXXXXXX.safetensors atomically and keeps the newest `keep_last`;
    /// every rank waits for it. Returns the path (on every rank).
    @discardableResult
    public func saveCheckpoint() throws -> String {
        let dir = config.train.outDir
        let path = URL(fileURLWithPath: dir).appendingPathComponent(Checkpoints.fileName(step: step)).path
        if comm.rank == 0 {
            let watch = Stopwatch()
            defer { log("checkpoint \(path) (\(String(format: "%.1f", watch.seconds)) s)") }
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
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
            try w.write(to: path)
            Checkpoints.prune(in: dir, keep: config.train.keepLast)
        }
        try comm.barrier()
        lastCheckpointStep = step
        return path
    }

    func checkpointMetadata() -> [String: String] {
        let bpe = loader.batchesPerEpoch
        return ["format": "avtrain-checkpoint", "step": String(step), "epoch": String(step / bpe), "position": String(step % bpe),
                "optimizer_step": String(optimizer.step), "skipped_steps": String(skippedSteps), "world_size": String(comm.size),
                "global_batch": String(comm.size * config.data.batchPerRank), "optimizer": config.optim.optimizer,
                "rng": "derived: loader per (seed \(config.train.seed), epoch, clip id); drop path per (seed, step, rank)",
                "config": config.json(), "encoder": encoderSpecJSON()]
    }

    /// The `encoder` metadata: what `avembed`/`avtool export` need to rebuild the encoder and its
    /// front-end from this checkpoint alone (EncoderSpec JSON).
    func encoderSpecJSON() -> String {
        let spec = EncoderSpec(model: model.config, frontend: config.frontend, source: .init(checkpoint: "", step: step, ema: false),
                               logitScale: min(exp(logitScale.values.ptr[0]), 100))
        return (try? spec.json()).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Restores weights, EMA, optimiser state, logit scale and the step from `path` (every rank
    /// reads the file). A missing tensor or a shape that differs from this model is an error
    /// naming the file and tensor; so is a different global batch (the data order would change).
    public func restore(from path: String) throws {
        let f = try SafetensorsFile(path: path)
        guard f.metadata["format"] == "avtrain-checkpoint", let s = f.metadata["step"].flatMap(Int.init),
              let os = f.metadata["optimizer_step"].flatMap(Int.init) else {
            throw TrainError("\(path): not an avtrain checkpoint (metadata format/step/optimizer_step missing)")
        }
        let global = comm.size * config.data.batchPerRank
        if let g = f.metadata["global_batch"].flatMap(Int.init), g != global {
            throw TrainError("\(path): written with global batch \(g), this run has \(global) (\(comm.size) ranks × \(config.data.batchPerRank)); "
                             + "the data order would differ")
        }
        if let o = f.metadata["optimizer"], o != config.optim.optimizer {
            throw TrainError("\(path): optimiser state is \(o), the config says \(config.optim.optimizer)")
        }
        func load(_ name: String, shape: [Int], into p: UnsafeMutablePointer<Float>) throws {
            guard let e = f.entries[name] else { throw TrainError("\(path): tensor \(name) missing") }
            guard e.shape == shape else { throw TrainError("\(path): tensor \(name) has shape \(e.shape), this model needs \(shape)") }
            let v = try f.floats(name)
            v.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: v.count) }
        }
        func loadAll(_ prefix: String, _ base: UnsafeMutablePointer<Float>) throws {
            for v in model.params.views { try load(prefix + v.name, shape: v.shape, into: base + v.offset) }
        }
        try loadAll("model.", model.params.values.ptr)
        if let ema {
            if f.entries["ema.norm.weight"] != nil { try loadAll("ema.", ema.params.values.ptr) }
            else { ema.params.values.ptr.update(from: model.params.values.ptr, count: model.params.count) }
        }
        for (name, t) in optimizer.state { try loadAll("optim.\(name).", t.ptr) }
        for (name, t) in scaleOptimizer.state { try load("optim.\(name).logit_scale", shape: [1], into: t.ptr) }
        try load("logit_scale", shape: [1], into: logitScale.values.ptr)
        optimizer.step = os
        scaleOptimizer.step = os
        step = s
        skippedSteps = f.metadata["skipped_steps"].flatMap(Int.init) ?? 0
        lastCheckpointStep = s
    }
}
