import Foundation
import AVTensor
import AVAudio

/// Options of `ShardedLoader` besides the rank layout.
public struct LoaderOptions: Sendable {
    /// Training: random crops and SpecAugment; evaluation: deterministic features, `augmented` = `images`.
    public var training = true
    /// Feature threads (log-mel + SpecAugment). HDF5 reads run on one more, the reader thread.
    public var workers = 2
    /// Batches read or featurised ahead of the consumer (bounds memory: about
    /// prefetch × B × (samples × 2 + 2 × H × W × 4) bytes).
    public var prefetchBatches = 3
    /// Bad clips (unreadable rows, NaN or zero-norm embeddings) and bad shards: skip and report, or stop.
    public var onBadClip: BadClipPolicy = .stop
    /// Shard files held open at once.
    public var maxOpenShards = 64
    /// Where skip reports go (default: stderr).
    public var log: @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init(training: Bool = true, workers: Int = 2, prefetchBatches: Int = 3, onBadClip: BadClipPolicy = .stop) {
        self.training = training; self.workers = workers; self.prefetchBatches = prefetchBatches; self.onBadClip = onBadClip
    }
}

/// The rank-sharded loader. Each rank reads only its share of each epoch (`EpochPlan`): one reader
/// thread does every HDF5 read (waveform row, the clip's K×D captions and F×D frames, the weak
/// partner's frames) under `HDF5Access`, and `workers` threads turn int16 waveforms into log-mel
/// images and SpecAugment views through the `ClipFeaturizer`. At most `prefetchBatches` batches are
/// in flight. Memory besides that: the label index (see `LabelIndex`) and one epoch permutation
/// (4 bytes per clip). Every random choice is seeded by (seed, epoch, clip id), so a batch does not
/// depend on thread timing.
public final class ShardedLoader: @unchecked Sendable {
    public let shards: ShardSet
    public let plan: EpochPlan
    public let seed: UInt64
    public let featurizer: ClipFeaturizer
    public let options: LoaderOptions
    public var layout: ShardLayout { shards.manifest.layout }
    private let reportLock = NSLock()
    private var _report: [DataError]

    /// Opens the manifest's shards (validating them) and builds the label index.
    public init(manifest: Manifest, rank: Int, worldSize: Int, batchPerRank: Int, seed: UInt64,
                featurizer: ClipFeaturizer, options: LoaderOptions = LoaderOptions()) throws {
        guard worldSize > 0, rank >= 0, rank < worldSize, batchPerRank > 0 else {
            throw DataError(file: manifest.path, reason: "bad rank layout: rank \(rank) of \(worldSize), batch \(batchPerRank)")
        }
        let set = try HDF5Access.run { try ShardSet(manifest: manifest, onBadShard: options.onBadClip, maxOpenShards: options.maxOpenShards) }
        for e in set.report { options.log("skipping shard: \(e)") }
        shards = set
        plan = EpochPlan(clips: set.count, rank: rank, worldSize: worldSize, batchSize: batchPerRank)
        guard plan.batches > 0 else {
            throw DataError(file: manifest.path, reason: "\(set.count) clips are too few for \(worldSize) ranks × batch \(batchPerRank)")
        }
        self.seed = seed; self.featurizer = featurizer; self.options = options
        _report = set.report
    }

    /// Opens the manifest at `manifestPath`.
    public convenience init(manifestPath: String, rank: Int, worldSize: Int, batchPerRank: Int, seed: UInt64,
                            featurizer: ClipFeaturizer, options: LoaderOptions = LoaderOptions()) throws {
        try self.init(manifest: try Manifest.load(manifestPath), rank: rank, worldSize: worldSize,
                      batchPerRank: batchPerRank, seed: seed, featurizer: featurizer, options: options)
    }

    /// Batches per rank per epoch.
    public var batchesPerEpoch: Int { plan.batches }

    /// Bad shards and clips skipped so far.
    public var report: [DataError] { reportLock.lock(); defer { reportLock.unlock() }; return _report }

    func record(_ e: DataError) {
        reportLock.lock(); _report.append(e); reportLock.unlock()
        options.log("skipping bad clip: \(e)")
    }

    /// Starts reading `epoch` on background threads from batch `from` on (a resumed run starts
    /// mid-epoch; the batches are those an uninterrupted epoch delivers there); pull them with `next()`.
    public func epoch(_ epoch: Int, from: Int = 0) -> EpochStream { EpochStream(loader: self, epoch: epoch, from: from) }

    /// The batches of `epoch` as a sequence of results (an error ends the sequence).
    public func batches(epoch: Int) -> AnySequence<Result<Batch, Error>> {
        AnySequence {
            let s = self.epoch(epoch)
            var done = false
            return AnyIterator { () -> Result<Batch, Error>? in
                if done { return nil }
                do {
                    guard let b = try s.next() else { done = true; return nil }
                    return .success(b)
                } catch { done = true; return .failure(error) }
            }
        }
    }
}

/// One epoch in flight: a reader thread, worker threads and a bounded queue of batches. Dropping
/// the stream (or `cancel()`) stops the threads.
public final class EpochStream {
    let pipeline: EpochPipeline
    public var epoch: Int { pipeline.epoch }

    init(loader: ShardedLoader, epoch: Int, from: Int) { pipeline = EpochPipeline(loader: loader, epoch: epoch, from: from) }
    deinit { pipeline.cancel() }

    /// The next batch in order, nil after the last; throws the error that stopped the epoch.
    public func next() throws -> Batch? { try pipeline.next() }

    /// Stops the background threads (batches not yet delivered are dropped).
    public func cancel() { pipeline.cancel() }
}

/// The threads' shared state (the threads hold it, not the `EpochStream`, so that dropping the
/// stream cancels them).
final class EpochPipeline: @unchecked Sendable {
    final class Pending {
        let batch: Batch
        let waves: [Int16]
        var nextSlot = 0, done = 0
        var failed = false
        init(batch: Batch, waves: [Int16]) { self.batch = batch; self.waves = waves }
    }

    let loader: ShardedLoader
    public let epoch: Int
    private let cond = NSCondition()
    private var pending: [Pending] = []
    private var ready: [Int: Batch] = [:]
    private var delivered = 0, read = 0
    private var failure: Error?
    private var readerDone = false, cancelled = false

    init(loader: ShardedLoader, epoch: Int, from: Int) {
        self.loader = loader
        self.epoch = epoch
        let start = min(max(0, from), loader.plan.batches)
        delivered = start; read = start
        let share = loader.plan.share(seed: loader.seed, epoch: epoch)
        Thread.detachNewThread { [self] in readerLoop(Array(share), from: start) }
        for _ in 0..<max(1, loader.options.workers) { Thread.detachNewThread { [self] in workerLoop() } }
    }

    func cancel() {
        cond.lock(); cancelled = true; cond.broadcast(); cond.unlock()
    }

    func next() throws -> Batch? {
        cond.lock()
        defer { cond.unlock() }
        while true {
            if delivered == loader.plan.batches && readerDone { return nil }
            if let b = ready.removeValue(forKey: delivered) {
                delivered += 1
                cond.broadcast()
                return b
            }
            if let failure { throw failure }
            cond.wait()
        }
    }

    // MARK: reader thread (all HDF5 work)

    private func readerLoop(_ share: [Int32], from: Int) {
        let l = loader.layout, b = loader.plan.batchSize
        let (h, w) = loader.featurizer.imageShape
        var text = [Float](repeating: 0, count: l.captionsPerClip * l.embeddingDim)
        var frames = [Float](repeating: 0, count: l.framesPerClip * l.embeddingDim)
        for bi in from..<loader.plan.batches {
            cond.lock()
            while read - delivered >= max(1, loader.options.prefetchBatches) && !cancelled { cond.wait() }
            let stop = cancelled
            cond.unlock()
            if stop { break }
            var batch = Batch(epoch: epoch, index: bi, size: b, height: h, width: w, dim: l.embeddingDim)
            var waves = [Int16](repeating: 0, count: b * l.clipSamples)
            do {
                try HDF5Access.run {
                    for slot in 0..<b {
                        try fill(&batch, &waves, slot: slot, position: bi * b + slot, share: share, text: &text, frames: &frames)
                    }
                }
            } catch {
                loader.shards.closeAll()
                cond.lock(); failure = error; readerDone = true; cond.broadcast(); cond.unlock()
                return
            }
            cond.lock()
            pending.append(Pending(batch: batch, waves: waves))
            read += 1
            cond.broadcast()
            cond.unlock()
        }
        // Close the shard files at the end of the epoch (they reopen on demand), so that nothing
        // stays open once the consumer has seen the last batch.
        loader.shards.closeAll()
        cond.lock(); readerDone = true; cond.broadcast(); cond.unlock()
    }

    /// Reads the clip at `position` of the share into `slot`; with `.skip`, a bad clip is reported
    /// and replaced by the next clip of the share.
    private func fill(_ batch: inout Batch, _ waves: inout [Int16], slot: Int, position: Int, share: [Int32],
                      text: inout [Float], frames: inout [Float]) throws {
        var attempt = 0
        while true {
            let id = Int(share[(position + attempt) % share.count])
            do {
                try readClip(id, into: &batch, &waves, slot: slot, text: &text, frames: &frames)
                return
            } catch let e as DataError {
                guard loader.options.onBadClip == .skip, attempt < min(share.count, 64) else { throw e }
                loader.record(e)
                attempt += 1
            }
        }
    }

    private func readClip(_ id: Int, into batch: inout Batch, _ waves: inout [Int16], slot: Int,
                          text: inout [Float], frames: inout [Float]) throws {
        let set = loader.shards, l = loader.layout, d = l.embeddingDim
        var rng = Rng(seed: EpochPlan.mix(loader.seed, UInt64(epoch), UInt64(id), 2))
        let (si, row) = set.locate(id)
        let shard = try set.shard(si)
        try waves.withUnsafeMutableBufferPointer { try shard.readWaveform(row, into: $0.baseAddress! + slot * l.clipSamples) }
        try text.withUnsafeMutableBufferPointer { try shard.readText(row, into: $0.baseAddress!) }
        try checkRows(text, shard.path, ShardSchema.textEmbedding, row)
        let k = rng.below(l.captionsPerClip)
        copyRow(text, k, d, to: batch.text, slot)
        try frames.withUnsafeMutableBufferPointer { try shard.readImage(row, into: $0.baseAddress!) }
        try checkRows(frames, shard.path, ShardSchema.imageEmbedding, row)
        let f = rng.below(l.framesPerClip)
        copyRow(frames, f, d, to: batch.image, slot)
        // Weak pair: a frame of another clip sharing a label; if the class has no other clip (or
        // the partner is bad and we skip), another frame of the same clip.
        var partner = set.labels.weakPartner(of: id, rng: &rng) ?? id
        let pf = rng.below(l.framesPerClip)
        if partner != id {
            let (ps, prow) = set.locate(partner)
            do {
                let p = try set.shard(ps)
                try frames.withUnsafeMutableBufferPointer { try p.readImage(prow, into: $0.baseAddress!) }
                try checkRows(frames, p.path, ShardSchema.imageEmbedding, prow)
            } catch let e as DataError {
                guard loader.options.onBadClip == .skip else { throw e }
                loader.record(e)
                partner = id
                try frames.withUnsafeMutableBufferPointer { try shard.readImage(row, into: $0.baseAddress!) }
            }
        }
        let weakFrame = partner == id && l.framesPerClip > 1 && pf == f ? (f + 1) % l.framesPerClip : pf
        copyRow(frames, weakFrame, d, to: batch.weakImage, slot)
        batch.labels[slot] = set.labels.primary[id]
        batch.labelSets[slot] = Array(set.labels.labels(of: id))
        batch.clipIDs[slot] = id
        batch.weakClipIDs[slot] = partner
        batch.captionIndex[slot] = k
        batch.frameIndex[slot] = f
    }

    private func copyRow(_ src: [Float], _ r: Int, _ d: Int, to t: Tensor, _ slot: Int) {
        src.withUnsafeBufferPointer { (t.ptr + slot * d).update(from: $0.baseAddress! + r * d, count: d) }
    }

    /// NaN/inf anywhere, or an all-zero row, makes the clip bad.
    private func checkRows(_ v: [Float], _ file: String, _ ds: String, _ row: Int) throws {
        if let bad = EmbeddingRows.firstBad(v, dim: loader.layout.embeddingDim) {
            throw DataError(file: file, dataset: ds, index: row, reason: bad.reason)
        }
    }

    // MARK: worker threads (features)

    private func workerLoop() {
        let l = loader.layout, b = loader.plan.batchSize
        let (h, w) = loader.featurizer.imageShape
        let hw = h * w
        var wave = [Float](repeating: 0, count: l.clipSamples)
        cond.lock()
        while true {
            if cancelled { break }
            guard let p = pending.first(where: { $0.nextSlot < b }) else {
                if readerDone { break }
                cond.wait()
                continue
            }
            let slot = p.nextSlot
            p.nextSlot += 1
            cond.unlock()
            p.waves.withUnsafeBufferPointer { src in
                wave.withUnsafeMutableBufferPointer { PCM16.decode(src.baseAddress! + slot * l.clipSamples, into: $0.baseAddress!, count: l.clipSamples) }
            }
            var rng = Rng(seed: EpochPlan.mix(loader.seed, UInt64(epoch), UInt64(p.batch.clipIDs[slot]), 3))
            let (img, aug) = loader.featurizer.features(waveform: wave, training: loader.options.training, rng: &rng)
            let ok = img.count == hw && aug.count == hw
            if ok {
                img.withUnsafeBufferPointer { (p.batch.images.ptr + slot * hw).update(from: $0.baseAddress!, count: hw) }
                aug.withUnsafeBufferPointer { (p.batch.augmented.ptr + slot * hw).update(from: $0.baseAddress!, count: hw) }
            }
            cond.lock()
            if !ok {
                p.failed = true
                if failure == nil {
                    failure = DataError(file: loader.shards.manifest.path, index: p.batch.clipIDs[slot],
                                        reason: "featurizer returned \(img.count)/\(aug.count) values, expected \(h)×\(w)")
                }
            }
            p.done += 1
            if p.done == b {
                pending.removeAll { $0 === p }
                if !p.failed { ready[p.batch.index] = p.batch }   // a failed batch is never delivered
                cond.broadcast()
            }
        }
        cond.unlock()
    }
}
