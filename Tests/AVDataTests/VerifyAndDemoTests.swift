import XCTest
import AVHDF5
import AVData
import AVTensor
import AVSafetensors
import TestSupport

final class VerifyAndDemoTests: XCTestCase {
    func testDemoIsReproducibleAndLearnable() throws {
        let a = TestSupport.tempDir().path, b = TestSupport.tempDir().path, other = TestSupport.tempDir().path
        let c = smallDemo(seed: 11)
        let oa = try DemoDataset.make(in: a, config: c)
        _ = try DemoDataset.make(in: b, config: c)
        var c2 = c; c2.seed = 12
        _ = try DemoDataset.make(in: other, config: c2)
        let files = ["train/manifest.json", "eval/manifest.json", "class_embeddings.safetensors"]
            + oa.train.shards.map { "train/" + $0.file } + oa.eval.shards.map { "eval/" + $0.file }
        for f in files {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a + "/" + f)), try Data(contentsOf: URL(fileURLWithPath: b + "/" + f)), f)
        }
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: a + "/train/train-00000.h5")),
                          try Data(contentsOf: URL(fileURLWithPath: other + "/train/train-00000.h5")))
        XCTAssertEqual(oa.eval.clips, 12)
        XCTAssertTrue(try ShardVerifier().verify(manifestPath: oa.trainManifestPath).ok)
        // Class embeddings: unit rows, names in metadata; every eval frame/caption embedding is
        // nearest to its own class's embedding (the zero-shot task is solvable from the embeddings).
        let st = try SafetensorsFile(path: oa.classEmbeddingsPath)
        XCTAssertEqual(try st.entry("class_embedding").shape, [4, 16])
        let names = try JSONDecoder().decode([String].self, from: Data(try XCTUnwrap(st.metadata["class_names"]).utf8))
        XCTAssertEqual(names, ["harmonic_tone", "rising_chirp", "noise_band", "clicks"])
        let ce = try st.floats("class_embedding")
        for i in 0..<oa.eval.shards.count {
            let s = try Shard(path: oa.eval.shardPath(i))
            let labels = try s.labels()
            for ds in [ShardSchema.textEmbedding, ShardSchema.imageEmbedding] {
                let e = try s.embeddings(ds, start: 0, rows: s.count)
                let per = e.count / s.count / 16
                for r in 0..<s.count {
                    for k in 0..<per {
                        let v = e[((r * per + k) * 16)..<((r * per + k + 1) * 16)]
                        let scores = (0..<4).map { cl in zip(v, ce[(cl * 16)..<((cl + 1) * 16)]).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
                        XCTAssertEqual(scores.firstIndex(of: scores.max()!), Int(labels[r]), "\(ds) clip \(r)")
                    }
                }
            }
            // Audio differs between classes: not silent, not clipped, distinct spectral peaks.
            let w = try s.waveforms(start: 0, rows: 4)
            for r in 0..<4 { XCTAssertGreaterThan(w[(r * c.clipSamples)..<((r + 1) * c.clipSamples)].map { abs(Int($0)) }.max()!, 3000) }
        }
    }

    /// The optional spoken-word class (espeak-ng): present, audible, reproducible.
    func testDemoSpeechClass() throws {
        try XCTSkipUnless(DemoSpeech.espeak != nil, "espeak-ng is not installed: the optional speech class is NOT tested")
        var c = smallDemo(seed: 4)
        c.speech = true; c.sampleRate = 16000; c.seconds = 1.5
        let a = TestSupport.tempDir().path, b = TestSupport.tempDir().path
        let oa = try DemoDataset.make(in: a, config: c)
        _ = try DemoDataset.make(in: b, config: c)
        XCTAssertEqual(oa.train.layout.classNames.last, "spoken_word")
        XCTAssertEqual(oa.train.clips, 5 * 10)
        let f = oa.train.shards[0].file
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a + "/train/" + f)), try Data(contentsOf: URL(fileURLWithPath: b + "/train/" + f)))
        let s = try Shard(path: oa.train.shardPath(0))
        let labels = try s.labels()
        let row = try XCTUnwrap(labels.firstIndex(of: 4))
        let w = try s.waveforms(start: row, rows: 1)
        let loud = w.filter { abs(Int($0)) > 1600 }.count
        XCTAssertGreaterThan(loud, c.clipSamples / 50, "spoken words are audible")
        XCTAssertTrue(try ShardVerifier().verify(manifestPath: oa.trainManifestPath).ok)
    }

    func testVerifyFindsEachKindOfProblem() throws {
        let dir = TestSupport.tempDir().path
        let out = try DemoDataset.make(in: dir, config: smallDemo())
        let s0 = out.train.shardPath(0), s1 = out.train.shardPath(1), s2 = out.train.shardPath(2)
        let n = smallDemo().clipSamples
        do {
            let f = try H5File(openAt: s0, writable: true)
            var row = try f.dataset(ShardSchema.imageEmbedding).read(as: Float.self, start: 2, rows: 1); row[3] = .nan
            try f.dataset(ShardSchema.imageEmbedding).write(row, start: 2)
            try f.dataset(ShardSchema.textEmbedding).write([Float](repeating: 0, count: 3 * 16), start: 5)
            try f.dataset(ShardSchema.waveform).write([Int16](repeating: 0, count: n), start: 7)
            try f.dataset(ShardSchema.waveform).write((0..<n).map { $0 % 2 == 0 ? Int16.max : Int16.min }, start: 8)
        }
        let good = try Data(contentsOf: URL(fileURLWithPath: s2))
        try good.prefix(good.count * 2 / 3).write(to: URL(fileURLWithPath: s2))   // truncated
        try FileManager.default.removeItem(atPath: s1)                          // missing
        let r = try ShardVerifier().verify(manifestPath: out.trainManifestPath)
        let errs = r.errors.map(\.description), warns = r.warnings.map(\.description)
        XCTAssertFalse(r.ok)
        func has(_ list: [String], _ parts: [String]) -> Bool { list.contains { s in parts.allSatisfy { s.contains($0) } } }
        XCTAssertTrue(has(errs, [s0, "image_embedding", "clip 2", "NaN"]), "\(errs)")
        XCTAssertTrue(has(errs, [s0, "text_embedding", "clip 5", "zero-norm"]), "\(errs)")
        XCTAssertTrue(has(warns, [s0, "waveform", "clip 7", "silent"]), "\(warns)")
        XCTAssertTrue(has(warns, [s0, "waveform", "clip 8", "clipped"]), "\(warns)")
        XCTAssertTrue(has(errs, [s1]), "\(errs)")
        XCTAssertTrue(has(errs, [s2]), "\(errs)")
        XCTAssertEqual(r.errors.count, 4, "\(errs)")
        XCTAssertEqual(r.warnings.count, 2, "\(warns)")
    }

}
