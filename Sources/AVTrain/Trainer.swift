import Foundation
import AVTensor
import AVModel
import AVDist
import AVData
import AVLoss
import AVEval

/// A training run that cannot go on (bad data set-up, too many non-finite steps, bad checkpoint).
public struct TrainError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What one step did (identical on every rank: the losses and the gradient norm are global).
public struct StepMetrics: Sendable {
    /// The step number after this step (1 for the first).
    public var step: Int
    public var epoch: Int
    /// Unweighted value of each active term, and the weighted total.
    public var values: [String: Float]
    public var total: Float
    /// The logit scale s = min(exp(logit_scale), 100) used.
    public var scale: Float
    public var lr: Float
    /// Global gradient norm before clipping.
    public var gradNorm: Float
    /// True if the step was skipped (non-finite loss or gradient).
    public var skipped: Bool
}

/// The training loop of SPEC §6 for one rank: loader → one encoder forward over [images;
/// augmented] (2B rows; B when audio_audio is off) → optional EMA teacher → `contrastiveObjective`
/// over the global batch → backward → SUM all-reduce of the parameter gradients → global-norm
/// clipping → non-finite check → optimiser step with warmup + cosine LR → EMA update.
///
/// Every rank builds the same model from the same seed and then takes rank 0's values (broadcast),
/// so the replicas start identical and stay identical (every rank applies the same summed
/// gradient). Randomness: data choices come from (seed, epoch, clip) in the loader, drop path from
/// (seed, step, rank), so a run resumed from a checkpoint continues exactly.
public final class Trainer {
    public let config: TrainConfig
    public let comm: Communicator
    public let loader: ShardedLoader
    public let model: SwinEncoder
    /// The momentum (EMA) teacher, only when momentum_kd > 0.
    public let ema: SwinEncoder?
    /// The learnable raw logit scale (one value, no weight decay).
    public let logitScale = ParameterStore()
    public let optimizer: Optimizer
    let scaleOptimizer: Optimizer
    public let schedule: LRSchedule
    public let totalSteps: Int
    /// Batches consumed so far (optimiser steps taken + steps skipped).
    public internal(set) var step = 0
    public internal(set) var skippedSteps = 0
    var consecutiveBad = 0
    /// The most recent steps' metrics (all ranks): at least the last `historyLimit` steps, at most
    /// twice that, so a long run's memory stays bounded (metrics.jsonl keeps every logged step).
    public private(set) var history: [StepMetrics] = []
    public var historyLimit = 1000
    /// Where rank 0's progress lines go.
    public var log: (String) -> Void = { print($0); fflush(stdout) }
    let useAugmented: Bool
    let input: Tensor, dout: Tensor
    let decayRule: DecayRule
    var clock = Stopwatch()
    /// Losses seen in this process: (step, total) of the first, the best and the last finite step.
    public internal(set) var lossRecord: (first: (Int, Float)?, best: (Int, Float)?, last: (Int, Float)?) = (nil, nil, nil)
    /// Steps taken in this process (after a resume, fewer than `step`).
    public internal(set) var stepsThisSession = 0
    var lastLog = (step: 0, time: 0.0)
    public internal(set) var lastCheckpointStep = -1
    /// The overlapped gradient all-reduce (`[dist] overlap`), nil for one all-reduce after backward.
    let gradientSync: OverlappedAllReduce?
    /// Seconds per phase of this session's steps on this rank (`phases.allReduceWait`: the
    /// communication that compute did not hide).
    public internal(set) var phases = StepPhases()
    /// Seconds this rank waited for gradient all-reduces after its backward pass.
    public var commWaitSeconds: Double { phases.allReduceWait }
    /// Rank 0's periodic zero-shot evaluation (nil elsewhere and without `[eval]`).
    let evaluator: PeriodicEval?

    /// Builds the loader, the model (and EMA teacher) and the optimiser for `comm.rank` of `comm.size`.
    public init(config: TrainConfig, comm: Communicator) throws {
        self.config = config
        self.comm = comm
        let manifest = try Trainer.loadManifest(config)
        let layout = manifest.layout
        if layout.sampleRate != config.frontend.sampleRate {
            throw ConfigError(location: config.origins["frontend.sample_rate"] ?? "default", key: "frontend.sample_rate",
                              reason: "is \(config.frontend.sampleRate) Hz but the data (\(manifest.path)) is \(layout.sampleRate) Hz")
        }
        func configError(_ key: String, _ reason: String) -> ConfigError {
            ConfigError(location: config.origins[key] ?? "default", key: key, reason: reason)
        }
        if config.frontend.clipSamples > layout.clipSamples {
            throw configError("frontend.clip_samples", "is \(config.frontend.clipSamples) samples but the clips of \(manifest.path) have "
                              + "\(layout.clipSamples): every clip would be padded (set it to at most \(layout.clipSamples))")
        }
        let global = comm.size * config.data.batchPerRank
        if global > manifest.clips {
            throw configError("data.batch_per_rank", "\(comm.size) rank(s) × \(config.data.batchPerRank) = global batch \(global) "
                              + "exceeds the \(manifest.clips) clips of \(manifest.path): no step could be filled")
        }
        var opts = LoaderOptions(training: true, workers: config.data.workers, prefetchBatches: config.data.prefetch,
                                 onBadClip: config.data.onBadClip)
        opts.log = { fputs("rank \(comm.rank): \($0)\n", stderr) }
        loader = try ShardedLoader(manifest: manifest, rank: comm.rank, worldSize: comm.size, batchPerRank: config.data.batchPerRank,
                                   seed: UInt64(config.train.seed), featurizer: try LogMelFeaturizer(config.frontend), options: opts)
        let swin = try config.swinConfig(embeddingDim: layout.embeddingDim)
        decayRule = DecayRule(patterns: config.optim.noDecay)
        useAugmented = config.loss.audioAudio != 0
        let b = config.data.batchPerRank
        // Refuse a batch whose activations cannot fit before allocating them.
        let need = swin.estimatedActivationBytes(batch: useAugmented ? 2 * b : b, forwardOnly: false)
        let have = Double(ProcessInfo.processInfo.physicalMemory)
        if need > have {
            throw configError("data.batch_per_rank", String(format: "needs about %.0f GB of activations per rank for batch %d (%@ input %d×%d), "
                              + "this machine has %.0f GB", need / 1e9, b, config.model.preset, swin.imageSize[0], swin.imageSize[1], have / 1e9))
        }
        model = try SwinEncoder(config: swin, batch: useAugmented ? 2 * b : b)
        ema = config.loss.usesTeacher ? try SwinEncoder(config: swin, batch: b, forwardOnly: true) : nil
        let hw = swin.imageSize[0] * swin.imageSize[1]
        input = Tensor([(useAugmented ? 2 : 1) * b, hw])
        dout = Tensor([(useAugmented ? 2 : 1) * b, swin.embeddingSize])

        // Identical initialisation: same seed everywhere, then rank 0's values to be safe.
        model.initialize(seed: UInt64(config.train.seed))
        try comm.broadcast(model.params.values.buffer, root: 0)
        ema?.params.values.ptr.update(from: model.params.values.ptr, count: model.params.count)
        _ = logitScale.declare("logit_scale", [1], decay: false)
        logitScale.allocate()
        logitScale.values.ptr[0] = config.loss.logitScaleInit

        let o = config.optim
        func make(_ count: Int, _ wd: Float) -> Optimizer {
            o.optimizer == .sgd ? SGD(count: count, lr: o.lr, momentum: o.momentum, weightDecay: wd)
                : AdamW(count: count, lr: o.lr, beta1: o.betas[0], beta2: o.betas[1], eps: o.eps, weightDecay: wd)
        }
        optimizer = make(model.params.count, o.weightDecay)
        scaleOptimizer = make(logitScale.count, 0)
        let (epochSteps, overflow) = config.train.epochs.multipliedReportingOverflow(by: loader.batchesPerEpoch)
        guard config.train.steps > 0 || (!overflow && epochSteps <= 1 << 40) else {
            throw configError("train.epochs", "\(config.train.epochs) epochs × \(loader.batchesPerEpoch) steps is more than 2^40 steps")
        }
        totalSteps = config.train.steps > 0 ? config.train.steps : epochSteps
        var s = LRSchedule(kind: o.schedule, peak: o.lr, minLR: o.minLR,
                           warmupSteps: o.warmupSteps, totalSteps: totalSteps)
        s.cycleSteps = o.cycleSteps; s.cycleMult = o.cycleMult; s.decaySteps = o.decaySteps; s.decayFactor = o.decayFactor
        schedule = s
        evaluator = comm.rank == 0 && config.eval.enabled ? try PeriodicEval(config, model: swin) : nil
        comm.bucketElements = config.dist.bucketElements
        if config.dist.overlap {
            let sync = OverlappedAllReduce(comm: comm, buffer: model.params.grads.buffer, bucketElements: config.dist.bucketElements)
            model.onGradientsReady = { sync.ready(from: $0) }
            gradientSync = sync
        } else {
            gradientSync = nil
        }
    }

    /// The best and the last zero-shot top-1 of this run's evaluations (rank 0), as (step, top-1, top-5).
    public var evalSummary: (best: (step: Int, top1: Double, top5: Double), last: (step: Int, top1: Double, top5: Double))? {
        guard let ev = evaluator, let best = ev.best, let last = ev.history.last else { return nil }
        return (best, last)
    }

    /// Loads the training manifest, saying where the data is expected and how to make it when it is missing.
    static func loadManifest(_ config: TrainConfig) throws -> Manifest {
        let path = config.data.trainManifest
        if !FileManager.default.fileExists(atPath: path) {
            throw TrainError(TrainJob.missingDataText(path))
        }
        return try Manifest.load(path)
    }

    /// Trains until `totalSteps`, writing checkpoints every `checkpoint_every` steps and at the end.
    public func run() throws {
        let bpe = loader.batchesPerEpoch
        if comm.rank == 0 { log(plan) }
        clock = Stopwatch()
        lastLog = (step, 0)
        while step < totalSteps {
            let stream = loader.epoch(step / bpe, from: step % bpe)
            defer { stream.cancel() }
            var got = 0
            while step < totalSteps {
                let waiting = Stopwatch()
                guard let batch = try stream.next() else { break }
                phases.data += waiting.seconds
                got += 1
                let m = try trainStep(batch)
                try report(m)
                if let signal = try stopAgreed() {
                    let path = lastCheckpointStep == step ? Checkpoints.path(in: config.train.outDir, step: step) : try saveCheckpoint()
                    throw TrainStopped(signal: signal, step: step, checkpoint: path)
                }
                if config.train.checkpointEvery > 0 && step % config.train.checkpointEvery == 0 { try saveCheckpoint() }
                if config.eval.every > 0 && step % config.eval.every == 0 && step < totalSteps { try evaluate() }
            }
            if got == 0 { throw TrainError("epoch \(step / bpe) delivered no batches") }
        }
        if lastCheckpointStep != step { try saveCheckpoint() }
        try evaluate()
    }

    /// The run's layout in one line: ranks × batch, steps, model, memory, threads, output.
    public var plan: String {
        "avtrain: \(comm.size) rank(s) × batch \(config.data.batchPerRank) = global batch \(comm.size * config.data.batchPerRank), "
            + "\(loader.batchesPerEpoch) steps/epoch, \(totalSteps) steps; model \(config.model.preset) \(model.config.imageSize) → \(model.config.embeddingSize), "
            + "\(model.params.parameterCount) parameters, activations \(Trainer.mib(model.plan.bytes + (ema?.plan.bytes ?? 0))) MiB/rank; "
            + "\(Threads.count) thread(s)/rank; out \(config.train.outDir)"
    }

    /// Whether any rank received a stop signal (SIGINT/SIGTERM/SIGUSR1) — all ranks agree, so
    /// they stop after the same step. Returns the signal (SIGTERM if only another rank knows it).
    func stopAgreed() throws -> Int32? {
        let local = StopRequest.pending
        if comm.size == 1 { return local != 0 ? local : nil }
        var flag: [Float] = [local != 0 ? 1 : 0]
        try comm.allReduce(&flag)
        return flag[0] > 0 ? (local != 0 ? local : SIGTERM) : nil
    }

    /// One optimiser step on this rank's `batch` (a collective: every rank calls it together).
    @discardableResult
    public func trainStep(_ batch: Batch) throws -> StepMetrics {
        let b = batch.size, d = model.config.embeddingSize, hw = model.inputCount
        precondition(b == config.data.batchPerRank, "batch of \(b), expected \(config.data.batchPerRank)")
        CollectiveContext.step = step + 1
        input.ptr.update(from: batch.images.ptr, count: b * hw)
        if useAugmented { (input.ptr + b * hw).update(from: batch.augmented.ptr, count: b * hw) }
        var phase = PhaseClock()
        model.params.zeroGrads()
        logitScale.zeroGrads()
        var rng = Rng(seed: EpochPlan.mix(UInt64(config.train.seed), UInt64(step), UInt64(comm.rank), 11))
        let out = model.forward(input: input.ptr, batch: useAugmented ? 2 * b : b, training: true, rng: &rng)
        let x = Array(UnsafeBufferPointer(start: out, count: b * d))
        let xAug = useAugmented ? Array(UnsafeBufferPointer(start: out + b * d, count: b * d)) : []
        var xMomentum: [Float] = []
        if let ema {
            let o = ema.forward(input: input.ptr, batch: b, training: false, rng: &rng)
            xMomentum = Array(UnsafeBufferPointer(start: o, count: b * d))
        }
        phases.forward += phase.lap()
        let inputs = LossInputs(dim: d, x: x, xAug: xAug, xMomentum: xMomentum, text: batch.text.array,
                                image: batch.image.array, weakImage: batch.weakImage.array)
        let res = try contrastiveObjective(local: inputs, logitScale: logitScale.values.ptr[0], weights: config.loss.weights(at: step),
                                           comm: comm)
        res.gradX.withUnsafeBufferPointer { dout.ptr.update(from: $0.baseAddress!, count: b * d) }
        if useAugmented { res.gradXAug.withUnsafeBufferPointer { (dout.ptr + b * d).update(from: $0.baseAddress!, count: b * d) } }
        phases.objective += phase.lap()
        model.backward(dout: dout.ptr)
        phases.backward += phase.lap()
        // The objective's gradients are already those of the global-batch loss for this rank's
        // clips, so the sum over ranks is the full parameter gradient (buckets already started
        // during backward with [dist] overlap). gradLogitScale is global.
        if let gradientSync { try gradientSync.finish() } else { try comm.allReduce(model.params.grads.buffer) }
        phases.allReduceWait += phase.lap()
        defer { phases.optimizer += phase.lap() }
        logitScale.grads.ptr[0] = res.gradLogitScale
        let norm = Float((Trainer.sumOfSquares(model.params.grads.ptr, model.params.count)
                          + Double(res.gradLogitScale * res.gradLogitScale)).squareRoot())
        let epoch = step / loader.batchesPerEpoch
        let lr = schedule.lr(at: step)
        step += 1
        stepsThisSession += 1
        var m = StepMetrics(step: step, epoch: epoch, values: res.values, total: res.total, scale: res.scale, lr: lr,
                            gradNorm: norm, skipped: false)
        guard res.total.isFinite && norm.isFinite else {
            m.skipped = true
            skippedSteps += 1; consecutiveBad += 1
            if comm.rank == 0 {
                log("step \(step): skipped (loss \(res.total), gradient norm \(norm) not finite); \(consecutiveBad) in a row, \(skippedSteps) in all")
            }
            record(m)
            if consecutiveBad >= config.train.maxBadSteps {
                throw TrainError("\(consecutiveBad) consecutive steps with a non-finite loss or gradient (max_bad_steps = \(config.train.maxBadSteps)); stopping at step \(step)")
            }
            return m
        }
        consecutiveBad = 0
        let point = (step, res.total)
        if lossRecord.first == nil { lossRecord.first = point }
        if lossRecord.best.map({ res.total < $0.1 }) ?? true { lossRecord.best = point }
        lossRecord.last = point
        let clip = config.optim.gradClip
        if clip > 0 && norm > clip {
            let f = clip / norm
            let g = model.params.grads.ptr
            for i in 0..<model.params.count { g[i] *= f }
            logitScale.grads.ptr[0] *= f
        }
        optimizer.lr = lr; optimizer.update(model.params) { self.decayRule.decays($0.name) }
        scaleOptimizer.lr = lr; scaleOptimizer.update(logitScale)
        // CLIP / open_clip clamp the parameter itself: above the clamp the loss's min(s, 100)
        // would give it zero gradient and it would stick there.
        logitScale.values.ptr[0] = min(max(logitScale.values.ptr[0], 0), config.loss.logitScaleMax)
        if let ema { Trainer.emaUpdate(ema.params.values.ptr, toward: model.params.values.ptr, count: model.params.count,
                                       momentum: config.loss.emaMomentum(at: step, of: totalSteps)) }
        record(m)
        return m
    }

    func record(_ m: StepMetrics) {
        history.append(m)
        if history.count >= 2 * max(1, historyLimit) { history.removeFirst(history.count - max(1, historyLimit)) }
    }

    static func mib(_ bytes: Int) -> Int { (bytes + (1 << 20) - 1) >> 20 }

    /// Σ g² in Double over chunks (each chunk's SIMD16 Float dot is exact enough).
    static func sumOfSquares(_ g: UnsafePointer<Float>, _ n: Int) -> Double {
        var total = 0.0, i = 0
        while i < n {
            let c = min(65_536, n - i)
            total += Double(Reduce.dot(g + i, g + i, c))
            i += c
        }
        return total
    }

    /// ema ← m·ema + (1 − m)·p.
    static func emaUpdate(_ e: UnsafeMutablePointer<Float>, toward p: UnsafePointer<Float>, count: Int, momentum m: Float) {
        let a = 1 - m
        for i in 0..<count { e[i] = m * e[i] + a * p[i] }
    }
}
