import XCTest
import AVAudio
import AVHDF5
import AVData
import AVTensor
import TestSupport
import RunFixtures

final class PackTests: XCTestCase {
    func testNpyReaderVersionsTypesAndErrors() throws {
        let dir = TestSupport.tempDir().path
        let v = TestSupport.randn(2 * 3 * 4, seed: 1)
        try writeNpy(dir + "/a.npy", shape: [2, 3, 4], values: v, half: false, version: 1)
        try writeNpy(dir + "/b.npy", shape: [2, 3, 4], values: v, half: true, version: 2)
        let a = try NpyArray(path: dir + "/a.npy"), b = try NpyArray(path: dir + "/b.npy")
        XCTAssertEqual(a.shape, [2, 3, 4]); XCTAssertEqual(b.element, .float16)
        XCTAssertEqual(try a.row(1), Array(v[12...]))
        XCTAssertEqual(try b.row(0), v[..<12].map { Float(Float16($0)) })
        XCTAssertThrowsError(try a.row(2)) { XCTAssertTrue("\($0)".contains("a.npy")) }
        let cases: [(String, () throws -> Void, String)] = [
            ("be.npy", { try writeNpy(dir + "/be.npy", shape: [2], values: [1, 2], half: false, descr: ">f4") }, ">f4"),
            ("i8.npy", { try writeNpy(dir + "/i8.npy", shape: [2], values: [1, 2], half: false, descr: "<i8") }, "<i8"),
            ("fo.npy", { try writeNpy(dir + "/fo.npy", shape: [2], values: [1, 2], half: false, fortran: true) }, "Fortran"),
            ("tr.npy", { try writeNpy(dir + "/tr.npy", shape: [2, 3], values: [1, 2, 3, 4, 5, 6], half: false, truncate: 3) }, "truncated"),
            ("bad.npy", { try Data("hello world, not numpy".utf8).write(to: URL(fileURLWithPath: dir + "/bad.npy")) }, "magic"),
        ]
        for (name, make, why) in cases {
            try make()
            XCTAssertThrowsError(try NpyArray(path: dir + "/" + name)) { XCTAssertTrue("\($0)".contains(name) && "\($0)".contains(why), "\($0)") }
        }
    }

    func config(_ dir: String) -> PackConfig {
        var c = PackConfig(csv: dir + "/clips.csv", textEmbeddings: dir + "/text.npy", imageEmbeddings: dir + "/image.npy", output: dir + "/shards")
        c.shardSize = 3; c.sampleRate = 8000; c.clipSamples = 400; c.dataset = "unit"
        return c
    }

    func testPackVerifyLoadRoundTripAndResume() throws {
        let dir = TestSupport.tempDir().path
        let (waves, text, image) = try PackInputs.make(dir)
        let c = config(dir)
        let s = try Packer.run(c)
        XCTAssertEqual(s.clips, 7); XCTAssertEqual(s.shardsWritten, 3); XCTAssertTrue(s.badClips.isEmpty)
        let m = try Manifest.load(s.manifestPath)
        XCTAssertEqual(m.shards.map(\.clips), [3, 3, 1])
        XCTAssertEqual(m.layout.classNames, ["dog bark", "rain", "wind"])
        XCTAssertEqual(m.layout.embeddingDType, .float32)   // from the text .npy
        XCTAssertTrue(try ShardVerifier().verify(manifestPath: s.manifestPath).ok)
        // Load: exact audio, exact float32 text, float16-rounded image (stored as float32 here).
        let loader = try ShardedLoader(manifestPath: s.manifestPath, rank: 0, worldSize: 1, batchPerRank: 7, seed: 4,
                                       featurizer: WaveformFeaturizer(samples: 400))
        let b = try XCTUnwrap(try loader.epoch(0).next())
        XCTAssertEqual(Set(b.clipIDs), Set(0..<7))
        for j in 0..<7 {
            let id = b.clipIDs[j], k = b.captionIndex[j], f = b.frameIndex[j]
            XCTAssertEqual(Array(b.images.buffer[(j * 400)..<((j + 1) * 400)]), waves[id].map { Float($0) / 32768 }, "clip \(id)")
            XCTAssertEqual(Array(b.text.buffer[(j * 6)..<((j + 1) * 6)]), Array(text[((id * 2 + k) * 6)..<((id * 2 + k + 1) * 6)]))
            XCTAssertEqual(Array(b.image.buffer[(j * 6)..<((j + 1) * 6)]), image[((id * 3 + f) * 6)..<((id * 3 + f + 1) * 6)].map { Float(Float16($0)) })
            XCTAssertEqual(b.labelSets[j], id % 3 == 2 ? [2, 0] : [Int32(id % 3)])
        }
        // Resume: a second run keeps every shard; a deleted shard is rebuilt identically.
        let shard1 = dir + "/shards/train-00001.h5"
        let before = try Data(contentsOf: URL(fileURLWithPath: shard1))
        let again = try Packer.run(c)
        XCTAssertEqual(again.shardsSkipped, 3); XCTAssertEqual(again.shardsWritten, 0); XCTAssertEqual(again.clips, 7)
        try FileManager.default.removeItem(atPath: shard1)
        try Data("partial".utf8).write(to: URL(fileURLWithPath: shard1 + ".tmp"))   // a crashed run's leftover
        let third = try Packer.run(c)
        XCTAssertEqual(third.shardsSkipped, 2); XCTAssertEqual(third.shardsWritten, 1)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: shard1)), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: shard1 + ".tmp"))
        XCTAssertEqual(try Manifest.load(third.manifestPath), m)
    }

    /// Packing at another rate resamples (8 kHz files → 16 kHz shards): length doubles, level is kept.
    func testPackResamples() throws {
        let dir = TestSupport.tempDir().path
        let (waves, _, _) = try PackInputs.make(dir)
        var c = config(dir)
        c.sampleRate = 16000; c.clipSamples = 800
        let s = try Packer.run(c)
        XCTAssertEqual(s.clips, 7)
        let sh = try Shard(path: dir + "/shards/train-00000.h5")
        XCTAssertEqual(sh.layout.sampleRate, 16000)
        let w = try sh.waveforms(start: 0, rows: 1)   // clip 0: 400 samples at 8 kHz → 800 at 16 kHz
        func rms<S: Sequence>(_ x: S) -> Double where S.Element == Int16 {
            let v = x.map { Double($0) }; return (v.reduce(0) { $0 + $1 * $1 } / Double(v.count)).squareRoot()
        }
        XCTAssertEqual(rms(w[40..<760]), rms(waves[0][20..<380]), accuracy: 0.08 * rms(waves[0]))
        let w1 = try sh.waveforms(start: 1, rows: 1)   // clip 1: 250 samples → 500, then zero padding
        XCTAssertGreaterThan(rms(w1[0..<480]), 1000)
        XCTAssertLessThan(rms(w1[520..<800]), 50)
    }

    func testPackBadInput() throws {
        let dir = TestSupport.tempDir().path
        _ = try PackInputs.make(dir)
        try Data("RIFF garbage".utf8).write(to: URL(fileURLWithPath: dir + "/a4.wav"))   // corrupt audio
        var c = config(dir)
        let s = try Packer.run(c)   // default .skip
        XCTAssertEqual(s.clips, 6)
        XCTAssertEqual(s.badClips.count, 1)
        XCTAssertTrue("\(s.badClips[0])".contains("a4.wav"), "\(s.badClips[0])")
        XCTAssertTrue(try ShardVerifier().verify(manifestPath: s.manifestPath).ok)
        c.onBadClip = .stop
        c.output = dir + "/shards-stop"
        XCTAssertThrowsError(try Packer.run(c)) { XCTAssertTrue("\($0)".contains("a4.wav"), "\($0)") }
        // Row-count mismatch, unknown class: named.
        c = config(dir)
        try writeNpy(dir + "/short.npy", shape: [5, 2, 6], values: TestSupport.randn(60, seed: 1), half: false)
        c.textEmbeddings = dir + "/short.npy"
        XCTAssertThrowsError(try Packer.run(c)) { XCTAssertTrue("\($0)".contains("short.npy") && "\($0)".contains("5 rows"), "\($0)") }
        c = config(dir); c.onBadClip = .stop
        try "wind\nrain\n".write(toFile: dir + "/classes.txt", atomically: true, encoding: .utf8)
        c.classesFile = dir + "/classes.txt"
        XCTAssertThrowsError(try Packer.run(c)) { XCTAssertTrue("\($0)".contains("dog bark"), "\($0)") }
        // A zero-norm embedding row is a bad clip at pack (it cannot be normalised); D = 0 is refused.
        c = config(dir)
        var text = TestSupport.randn(7 * 2 * 6, seed: 11)
        for j in 0..<6 { text[(2 * 2 + 1) * 6 + j] = 0 }
        try writeNpy(dir + "/zero.npy", shape: [7, 2, 6], values: text, half: false)
        c.textEmbeddings = dir + "/zero.npy"; c.output = dir + "/shards-zero"
        let z = try Packer.run(c)
        XCTAssertEqual(z.clips, 5, "7 rows − the corrupt a4.wav − the zero row")
        XCTAssertTrue(z.badClips.contains { "\($0)".contains("zero.npy") && "\($0)".contains("zero-norm embedding in row 1") }, "\(z.badClips)")
        try writeNpy(dir + "/d0.npy", shape: [7, 2, 0], values: [], half: false)
        c = config(dir); c.textEmbeddings = dir + "/d0.npy"; c.imageEmbeddings = dir + "/d0.npy"
        XCTAssertThrowsError(try Packer.run(c)) { XCTAssertTrue("\($0)".contains("D ≥ 1"), "\($0)") }
        // A CSV saved with a UTF-8 BOM (spreadsheet export) packs like any other.
        let csv = try String(contentsOfFile: dir + "/clips.csv", encoding: .utf8)
        try ("\u{feff}" + csv).write(toFile: dir + "/bom.csv", atomically: true, encoding: .utf8)
        c = config(dir); c.csv = dir + "/bom.csv"; c.output = dir + "/shards-bom"
        XCTAssertEqual(try Packer.run(c).clips, 6, "7 rows − the corrupt a4.wav")
    }
}
