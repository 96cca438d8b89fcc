import XCTest
import AVHDF5
import AVAudio
import AVData
import AVTensor
import TestSupport

final class LoaderTests: XCTestCase {
    func testEpochPlanSharesAreDisjointAndCover() {
        for (n, world, b) in [(103, 4, 5), (64, 2, 8), (10, 3, 1)] {
            var seen = Set<Int32>()
            var total = 0
            for r in 0..<world {
                let p = EpochPlan(clips: n, rank: r, worldSize: world, batchSize: b)
                let s = p.share(seed: 9, epoch: 2)
                XCTAssertEqual(s.count, (n / world / b) * b)
                total += s.count
                for id in s { XCTAssertTrue(seen.insert(id).inserted, "clip \(id) on two ranks") }
            }
            XCTAssertEqual(total, seen.count)
            XCTAssertGreaterThan(total, n - world * b)   // only the drop-last remainders are missing
            // The permutation covers everything, differs per epoch, and repeats per (seed, epoch).
            XCTAssertEqual(Set(EpochPlan.permutation(clips: n, seed: 9, epoch: 2)).count, n)
            XCTAssertEqual(EpochPlan.permutation(clips: n, seed: 9, epoch: 2), EpochPlan.permutation(clips: n, seed: 9, epoch: 2))
            XCTAssertNotEqual(EpochPlan.permutation(clips: n, seed: 9, epoch: 2), EpochPlan.permutation(clips: n, seed: 9, epoch: 3))
        }
    }

    /// Step s's global batch (the ranks' batches concatenated in rank order) is the same for any
    /// split of G = world × B over ranks.
    func testGlobalBatchDoesNotDependOnWorldSize() {
        let n = 103, g = 12
        let one = EpochPlan(clips: n, rank: 0, worldSize: 1, batchSize: g).share(seed: 4, epoch: 1)
        for world in [2, 3, 4] {
            let b = g / world
            let shares = (0..<world).map { Array(EpochPlan(clips: n, rank: $0, worldSize: world, batchSize: b).share(seed: 4, epoch: 1)) }
            for s in 0..<(n / g) {
                let global = (0..<world).flatMap { Array(shares[$0][(s * b)..<((s + 1) * b)]) }
                XCTAssertEqual(global, Array(one[(s * g)..<((s + 1) * g)]), "world \(world), step \(s)")
            }
        }
    }

    /// `epoch(e, from: k)` delivers exactly the batches k... of the full epoch.
    func testEpochFromMidway() throws {
        let dir = TestSupport.tempDir()
        let c = smallDemo()
        let out = try DemoDataset.make(in: dir.path, config: c)
        let l = try ShardedLoader(manifestPath: out.trainManifestPath, rank: 0, worldSize: 1, batchPerRank: 4, seed: 2,
                                  featurizer: WaveformFeaturizer(samples: c.clipSamples))
        var full: [Batch] = []
        for r in l.batches(epoch: 1) { full.append(try r.get()) }
        let s = l.epoch(1, from: 6)
        var tail: [Batch] = []
        while let b = try s.next() { tail.append(b) }
        XCTAssertEqual(tail.count, full.count - 6)
        XCTAssertEqual(tail.map(\.index), Array(6..<full.count))
        XCTAssertEqual(tail.map(\.clipIDs), full[6...].map(\.clipIDs))
        XCTAssertEqual(tail.last?.images.array, full.last?.images.array)
    }

    /// Loads one epoch on each of `world` ranks from the demo set, returning the batches per rank.
    func loadAll(_ manifest: String, world: Int, batch: Int, seed: UInt64 = 5, epoch: Int = 0, samples: Int,
                 options: LoaderOptions = LoaderOptions()) throws -> [[Batch]] {
        try (0..<world).map { r in
            let l = try ShardedLoader(manifestPath: manifest, rank: r, worldSize: world, batchPerRank: batch, seed: seed,
                                      featurizer: WaveformFeaturizer(samples: samples), options: options)
            var out: [Batch] = []
            for res in l.batches(epoch: epoch) { out.append(try res.get()) }
            XCTAssertEqual(out.count, l.batchesPerEpoch)
            return out
        }
    }

    func testLoaderDeliversExactDataShardedByRank() throws {
        let dir = TestSupport.tempDir()
        let c = smallDemo()
        let out = try DemoDataset.make(in: dir.path, config: c)
        let n = out.train.clips   // 40 clips in 3 shards
        XCTAssertEqual(n, 40); XCTAssertEqual(out.train.shards.map(\.clips), [16, 16, 8])
        // Reference: every clip's audio and embeddings read straight from the shards.
        var waves: [[Int16]] = [], texts: [[Float]] = [], images: [[Float]] = [], labels: [Int32] = []
        for i in 0..<out.train.shards.count {
            let s = try Shard(path: out.train.shardPath(i))
            let w = try s.waveforms(start: 0, rows: s.count)
            let t = try s.embeddings(ShardSchema.textEmbedding, start: 0, rows: s.count)
            let im = try s.embeddings(ShardSchema.imageEmbedding, start: 0, rows: s.count)
            labels += try s.labels()
            for r in 0..<s.count {
                waves.append(Array(w[(r * c.clipSamples)..<((r + 1) * c.clipSamples)]))
                texts.append(Array(t[(r * c.captions * c.dim)..<((r + 1) * c.captions * c.dim)]))
                images.append(Array(im[(r * c.frames * c.dim)..<((r + 1) * c.frames * c.dim)]))
            }
        }
        let world = 3, b = 4
        let ranks = try loadAll(out.trainManifestPath, world: world, batch: b, samples: c.clipSamples)
        var seen = Set<Int>()
        for (r, batches) in ranks.enumerated() {
            XCTAssertEqual(batches.count, 3)   // 40 / 3 = 13 per rank → 3 batches of 4
            let share = EpochPlan(clips: n, rank: r, worldSize: world, batchSize: b).share(seed: 5, epoch: 0).map(Int.init)
            XCTAssertEqual(batches.flatMap(\.clipIDs), share)
            for bt in batches {
                XCTAssertEqual(bt.images.shape, [b, 1, c.clipSamples]); XCTAssertEqual(bt.text.shape, [b, c.dim])
                for j in 0..<b {
                    let id = bt.clipIDs[j]
                    XCTAssertTrue(seen.insert(id).inserted)
                    let img = Array(bt.images.buffer[(j * c.clipSamples)..<((j + 1) * c.clipSamples)])
                    XCTAssertEqual(img, waves[id].map { Float($0) / 32768 }, "clip \(id) audio")
                    XCTAssertEqual(bt.augmented[j * c.clipSamples + 7], -img[7])
                    let k = bt.captionIndex[j], f = bt.frameIndex[j]
                    XCTAssertEqual(Array(bt.text.buffer[(j * c.dim)..<((j + 1) * c.dim)]), Array(texts[id][(k * c.dim)..<((k + 1) * c.dim)]))
                    XCTAssertEqual(Array(bt.image.buffer[(j * c.dim)..<((j + 1) * c.dim)]), Array(images[id][(f * c.dim)..<((f + 1) * c.dim)]))
                    XCTAssertEqual(bt.labels[j], labels[id])
                    // Weak pair: a different clip with the same label, and one of its frames.
                    let wid = bt.weakClipIDs[j]
                    XCTAssertNotEqual(wid, id)
                    XCTAssertEqual(labels[wid], labels[id])
                    let weak = Array(bt.weakImage.buffer[(j * c.dim)..<((j + 1) * c.dim)])
                    XCTAssertTrue((0..<c.frames).contains { Array(images[wid][($0 * c.dim)..<(($0 + 1) * c.dim)]) == weak })
                }
            }
        }
        XCTAssertEqual(seen.count, 36)
        // Captions and frames vary over clips (seeded choice, not always 0).
        XCTAssertGreaterThan(Set(ranks.flatMap { $0.flatMap(\.captionIndex) }).count, 1)
        // Same seed → same batches; another epoch → another order.
        let again = try loadAll(out.trainManifestPath, world: world, batch: b, samples: c.clipSamples)
        XCTAssertEqual(again[1].flatMap(\.clipIDs), ranks[1].flatMap(\.clipIDs))
        XCTAssertEqual(again[1][2].weakImage.array, ranks[1][2].weakImage.array)
        let e1 = try loadAll(out.trainManifestPath, world: world, batch: b, epoch: 1, samples: c.clipSamples)
        XCTAssertNotEqual(e1[0].flatMap(\.clipIDs), ranks[0].flatMap(\.clipIDs))
    }

    /// A featurizer that uses its rng (like random crops and SpecAugment) and returns the wrong size on request.
    struct NoisyFeaturizer: ClipFeaturizer {
        let samples: Int
        var broken = false
        var imageShape: (height: Int, width: Int) { (2, samples / 2) }
        func features(waveform: [Float], training: Bool, rng: inout Rng) -> (image: [Float], augmented: [Float]) {
            let img = waveform.prefix(imageShape.height * imageShape.width).map { $0 + rng.normal() }
            return (broken ? Array(img.dropLast()) : img, img.map { $0 * rng.uniform() })
        }
    }

    func testBatchesDoNotDependOnThreadCountAndFeaturizerErrorsStop() throws {
        let dir = TestSupport.tempDir()
        let c = smallDemo()
        let out = try DemoDataset.make(in: dir.path, config: c)
        func epoch(workers: Int, prefetch: Int, broken: Bool = false) throws -> [Batch] {
            var o = LoaderOptions(workers: workers, prefetchBatches: prefetch)
            o.log = { _ in }
            let l = try ShardedLoader(manifestPath: out.trainManifestPath, rank: 1, worldSize: 2, batchPerRank: 3, seed: 8,
                                      featurizer: NoisyFeaturizer(samples: c.clipSamples, broken: broken), options: o)
            return try l.batches(epoch: 4).map { try $0.get() }
        }
        let a = try epoch(workers: 1, prefetch: 1), b = try epoch(workers: 3, prefetch: 5)
        XCTAssertEqual(a.count, 6)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x.images.array, y.images.array)
            XCTAssertEqual(x.augmented.array, y.augmented.array)
            XCTAssertEqual(x.weakImage.array, y.weakImage.array)
            XCTAssertEqual(x.clipIDs, y.clipIDs)
        }
        XCTAssertThrowsError(try epoch(workers: 2, prefetch: 2, broken: true)) { XCTAssertTrue("\($0)".contains("featurizer returned"), "\($0)") }
    }

    func testMultiLabelWeakPairsShareALabel() throws {
        let dir = TestSupport.tempDir()
        let l = ShardLayout(dataset: "ml", split: "train", sampleRate: 8000, clipSamples: 8, classNames: ["a", "b", "c", "d"],
                            captionsPerClip: 1, framesPerClip: 1, embeddingDim: 4, embeddingModel: "m", embeddingDType: .float32)
        let sets: [[Int]] = [[0, 1], [1], [2, 3], [3], [0], [2], [1, 2], [3, 0]]
        let w = try ShardWriter(path: dir.path + "/s.h5", layout: l, capacity: sets.count)
        for (i, s) in sets.enumerated() {
            try w.append(name: "c\(i)", waveform: [Int16](repeating: Int16(i), count: 8), labels: s,
                         text: [1, Float(i), 0, 0], image: [0, 1, Float(i), 0], sourceRow: i)
        }
        let m = Manifest(layout: l, shards: [.init(file: "s.h5", clips: try w.finish())], path: dir.path + "/manifest.json")
        try m.write(to: m.path)
        let loader = try ShardedLoader(manifestPath: m.path, rank: 0, worldSize: 1, batchPerRank: 8, seed: 1,
                                       featurizer: WaveformFeaturizer(samples: 8))
        for e in 0..<5 {
            let s = loader.epoch(e)
            let bt = try XCTUnwrap(try s.next())
            XCTAssertNil(try s.next())
            for j in 0..<8 {
                let id = bt.clipIDs[j], wid = bt.weakClipIDs[j]
                XCTAssertNotEqual(id, wid)
                XCTAssertFalse(Set(sets[id]).isDisjoint(with: sets[wid]), "clip \(id) \(sets[id]) paired with \(wid) \(sets[wid])")
                XCTAssertEqual(bt.weakImage[j * 4 + 2], Float(wid))
                XCTAssertEqual(bt.labelSets[j], sets[id].map(Int32.init))
                XCTAssertEqual(bt.labels[j], Int32(sets[id][0]))
            }
        }
    }

    func testBadInputIsNamedAndSkipOrStop() throws {
        let dir = TestSupport.tempDir()
        let c = smallDemo()
        let out = try DemoDataset.make(in: dir.path, config: c)
        let shard1 = out.train.shardPath(1)
        // NaN embedding in shard 1, row 3.
        do {
            let f = try H5File(openAt: shard1, writable: true)
            var row = [Float](repeating: 0.1, count: c.captions * c.dim); row[5] = .nan
            try f.dataset(ShardSchema.textEmbedding).write(row, start: 3)
        }
        let opts = { (p: BadClipPolicy) -> LoaderOptions in var o = LoaderOptions(onBadClip: p); o.log = { _ in }; return o }
        // .stop: the epoch that meets the clip throws, naming file, dataset and index.
        var sawError: Error?
        for e in 0..<1 {
            let l = try ShardedLoader(manifestPath: out.trainManifestPath, rank: 0, worldSize: 1, batchPerRank: 8, seed: 2,
                                      featurizer: WaveformFeaturizer(samples: c.clipSamples), options: opts(.stop))
            for r in l.batches(epoch: e) { if case .failure(let err) = r { sawError = err } }
        }
        let msg = "\(try XCTUnwrap(sawError))"
        XCTAssertTrue(msg.contains(shard1) && msg.contains("text_embedding") && msg.contains("clip 3"), msg)
        // .skip: every batch arrives, the bad clip is reported and never delivered.
        do {
            let l = try ShardedLoader(manifestPath: out.trainManifestPath, rank: 0, worldSize: 1, batchPerRank: 8, seed: 2,
                                      featurizer: WaveformFeaturizer(samples: c.clipSamples), options: opts(.skip))
            var ids: [Int] = []
            for r in l.batches(epoch: 0) { ids += try r.get().clipIDs }
            XCTAssertEqual(ids.count, 40)
            XCTAssertFalse(ids.contains(16 + 3))
            XCTAssertEqual(l.report.count, 1)
            XCTAssertEqual(l.report.first?.index, 3)
        }

        // A dataset missing, lengths that disagree, a truncated shard, a missing shard: named on open.
        let m = out.train
        func expectOpenError(_ contains: [String], _ file: String = #file, _ line: UInt = #line) {
            XCTAssertThrowsError(try ShardedLoader(manifest: m, rank: 0, worldSize: 1, batchPerRank: 4, seed: 0,
                                                   featurizer: WaveformFeaturizer(samples: c.clipSamples), options: opts(.stop))) { e in
                for s in contains { XCTAssertTrue("\(e)".contains(s), "\(e) lacks \(s)", line: line) }
            }
        }
        let shard2 = m.shardPath(2)
        let backup = try Data(contentsOf: URL(fileURLWithPath: shard2))
        // Lengths disagree: rewrite label with fewer rows.
        try rewrite(shard2) { f in
            try f.remove(ShardSchema.label)
            try f.createDataset(ShardSchema.label, type: .int32, dims: [5]).write([Int32](repeating: 0, count: 5))
        }
        expectOpenError([shard2, "'label'", "lengths disagree"])
        try backup.write(to: URL(fileURLWithPath: shard2))
        try rewrite(shard2) { f in try f.remove(ShardSchema.imageEmbedding) }
        expectOpenError([shard2, "image_embedding", "missing"])
        try backup.prefix(backup.count / 2).write(to: URL(fileURLWithPath: shard2))
        expectOpenError([shard2])
        try FileManager.default.removeItem(atPath: shard2)
        expectOpenError([shard2, "missing"])
        // With .skip the broken shard is left out and reported; the rest loads.
        let skip = try ShardedLoader(manifest: m, rank: 0, worldSize: 1, batchPerRank: 4, seed: 0,
                                     featurizer: WaveformFeaturizer(samples: c.clipSamples), options: opts(.skip))
        XCTAssertEqual(skip.shards.count, 32)
        XCTAssertEqual(skip.report.count, 1)
    }

    func rewrite(_ path: String, _ body: (H5File) throws -> Void) throws {
        let f = try H5File(openAt: path, writable: true)
        try body(f)
    }
}


final class LabelIndexScaleTests: XCTestCase {
    /// AudioSet scale: 2M clips, 527 classes, 1–3 labels each. The index stays ≈ 24 B/clip and
    /// weak partners share a label.
    func testAudioSetScaleIndexIsBounded() {
        let n = 2_000_000, c = 527
        var rng = Rng(seed: 1)
        var primary = [Int32](repeating: 0, count: n)
        var multi = [[Int32]?](repeating: nil, count: n)
        var labelCount = 0
        for i in 0..<n {
            let p = Int32(rng.below(c))
            primary[i] = p
            let extra = rng.below(3)
            labelCount += 1 + extra
            if extra > 0 { multi[i] = [p] + (0..<extra).map { k in Int32((Int(p) + 1 + k) % c) } }
        }
        let index = LabelIndex(primary: primary, multi: multi, numClasses: c)
        multi = []
        XCTAssertEqual(index.bytes, 4 * n + 4 * (n + 1) + 8 * labelCount + 8 * (c + 1))   // primary, CSR starts, 2 × labels, class starts
        XCTAssertLessThan(Double(index.bytes) / Double(n), 26)
        var r = Rng(seed: 2)
        for _ in 0..<10_000 {
            let i = r.below(n)
            guard let j = index.weakPartner(of: i, rng: &r) else { XCTFail("no partner for \(i)"); continue }
            XCTAssertNotEqual(i, j)
            XCTAssertFalse(Set(index.labels(of: i)).isDisjoint(with: index.labels(of: j)))
        }
    }
}

/// The loader with the real front-end: images are exactly `FrontEnd.image` of the stored audio
/// with the clip's seeded rng, `augmented` its SpecAugment view (training) or a copy (evaluation).
final class LogMelLoaderTests: XCTestCase {
    func testLogMelImagesMatchTheFrontEnd() throws {
        let dir = TestSupport.tempDir()
        let c = smallDemo()   // 0.5 s at 8 kHz
        let out = try DemoDataset.make(in: dir.path, config: c)
        let fe = FrontEndConfig(sampleRate: 8000, nFFT: 256, winLength: 200, hopLength: 80, nMels: 32, fmax: 4000,
                                clipSamples: 3600, fold: false, imageHeight: 32, imageWidth: 40)
        let featurizer = try LogMelFeaturizer(fe)
        let frontEnd = try FrontEnd(fe)
        var waves: [Int: [Float]] = [:]
        let m = try Manifest.load(out.trainManifestPath)
        var id = 0
        for i in 0..<m.shards.count {
            let s = try Shard(path: m.shardPath(i))
            let w = try s.waveforms(start: 0, rows: s.count)
            for r in 0..<s.count { waves[id] = w[(r * c.clipSamples)..<((r + 1) * c.clipSamples)].map { Float($0) / 32768 }; id += 1 }
        }
        for training in [true, false] {
            let loader = try ShardedLoader(manifestPath: out.trainManifestPath, rank: 0, worldSize: 1, batchPerRank: 5, seed: 3,
                                           featurizer: featurizer, options: LoaderOptions(training: training))
            let b = try XCTUnwrap(try loader.epoch(2).next())
            XCTAssertEqual(b.images.shape, [5, 32, 40])
            let hw = 32 * 40
            for j in 0..<5 {
                var rng = Rng(seed: EpochPlan.mix(3, 2, UInt64(b.clipIDs[j]), 3))
                let img = frontEnd.image(waveform: waves[b.clipIDs[j]]!, training: training, rng: &rng)
                let aug = training ? frontEnd.specAugment(img, rng: &rng) : img
                XCTAssertEqual(Array(b.images.buffer[(j * hw)..<((j + 1) * hw)]), img)
                XCTAssertEqual(Array(b.augmented.buffer[(j * hw)..<((j + 1) * hw)]), aug)
                if training { XCTAssertNotEqual(img, aug, "SpecAugment masked nothing") }
            }
        }
    }
}
