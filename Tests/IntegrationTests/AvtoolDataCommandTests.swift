import XCTest
import Foundation
import AVHDF5
import AVTensor
import AVData
import TestSupport
import RunFixtures

/// The built `avtool data …` commands end to end: synth, verify, inspect, pack, and bad options.
final class AvtoolDataCommandTests: XCTestCase {
    /// The avtool commands end to end: synth → verify (exit 0) → inspect; a damaged shard → exit 1.
    func testAvtoolDataCommands() throws {
        let avtool = try TestSupport.executable("avtool")
        let dir = TestSupport.tempDir().path
        let (s1, o1) = try TestSupport.run(avtool, ["data", "synth", "--out", dir, "--classes", "3", "--train-per-class", "4",
                                                    "--eval-per-class", "2", "--seconds", "0.25", "--dim", "8"])
        XCTAssertEqual(s1, 0, o1)
        XCTAssertTrue(o1.contains("train: 12 clips"), o1)
        let (s2, o2) = try TestSupport.run(avtool, ["data", "verify", "--deep", dir + "/train/manifest.json", dir + "/eval/manifest.json"])
        XCTAssertEqual(s2, 0, o2)
        XCTAssertTrue(o2.contains("verified 18 clips in 2 shards (deep: every row read): 0 errors"), o2)
        let (s3, o3) = try TestSupport.run(avtool, ["data", "inspect", dir + "/train/manifest.json"])
        XCTAssertEqual(s3, 0, o3)
        XCTAssertTrue(o3.contains("12 clips in 1 shards") && o3.contains("rising_chirp") && o3.contains("float16 [12, 4, 8]"), o3)
        do {   // a silent clip is a warning: exit 0, but 1 with --strict
            let f = try H5File(openAt: dir + "/eval/eval-00000.h5", writable: true)
            try f.dataset(ShardSchema.waveform).write([Int16](repeating: 0, count: 4000), start: 0)
        }
        let (w1, ow1) = try TestSupport.run(avtool, ["data", "verify", "--deep", dir + "/eval/manifest.json"])
        XCTAssertEqual(w1, 0, ow1)
        XCTAssertTrue(ow1.contains("warning: ") && ow1.contains("clip 0: silent audio"), ow1)
        let (w2, ow2) = try TestSupport.run(avtool, ["data", "verify", "--deep", "--strict", dir + "/eval/manifest.json"])
        XCTAssertEqual(w2, 1, ow2)
        do {
            let f = try H5File(openAt: dir + "/eval/eval-00000.h5", writable: true)
            try f.dataset(ShardSchema.textEmbedding).write([Float](repeating: .nan, count: 4 * 8), start: 1)
        }
        let (s4, o4) = try TestSupport.run(avtool, ["data", "verify", "--deep", dir + "/eval/manifest.json"])
        XCTAssertEqual(s4, 1, o4)
        XCTAssertTrue(o4.contains("eval-00000.h5, dataset 'text_embedding', clip 1"), o4)
        XCTAssertTrue(o4.contains("problems by kind:") && o4.contains("text_embedding: NaN or infinite value in row N"), o4)
        let (s5, o5) = try TestSupport.run(avtool, ["data", "verify", dir + "/eval/manifest.json"])
        XCTAssertEqual(s5, 0, o5)
        XCTAssertTrue(o5.contains("structure only; --deep reads every row"), o5)
    }

    func testAvtoolPackCommandResumes() throws {
        let avtool = try TestSupport.executable("avtool")
        let dir = TestSupport.tempDir().path
        _ = try PackInputs.make(dir)
        let args = ["data", "pack", "--csv", dir + "/clips.csv", "--text", dir + "/text.npy", "--image", dir + "/image.npy",
                    "--out", dir + "/out", "--sample-rate", "8000", "--seconds", "0.05", "--shard-size", "4", "--dtype", "float16"]
        let (s1, o1) = try TestSupport.run(avtool, args)
        XCTAssertEqual(s1, 0, o1)
        XCTAssertTrue(o1.contains("packed 7 clips: 2 shards written, 0 already complete"), o1)
        XCTAssertTrue(o1.contains("ETA"), o1)   // the progress bar (stderr)
        let (s2, o2) = try TestSupport.run(avtool, args)
        XCTAssertEqual(s2, 0, o2)
        XCTAssertTrue(o2.contains("packed 7 clips: 0 shards written, 2 already complete"), o2)
        let m = try Manifest.load(dir + "/out/manifest.json")
        XCTAssertEqual(m.layout.embeddingDType, .float16)
        XCTAssertEqual(m.layout.clipSamples, 400)
        let (s3, o3) = try TestSupport.run(avtool, ["data", "verify", dir + "/out/manifest.json"])
        XCTAssertEqual(s3, 0, o3)
    }

    /// Bad `avtool data pack` options are usage errors, not traps.
    func testBadPackOptions() throws {
        let avtool = try TestSupport.executable("avtool")
        let base = ["data", "pack", "--csv", "x.csv", "--text", "t.npy", "--image", "i.npy", "--out", TestSupport.tempDir().path]
        for bad in [["--shard-size", "0"], ["--shard-size=-1"], ["--seconds=-1"], ["--seconds", "1e20"], ["--seconds", "nan"],
                    ["--sample-rate=-16000"], ["--sample-rate", "0"], ["--gzip=-1"], ["--seconds", "0"]] {
            let (status, text) = try TestSupport.run(avtool, base + bad)
            XCTAssertNotEqual(status, 0, "\(bad)")
            XCTAssertFalse(text.contains("Fatal error") || text.contains("Crash"), "\(bad): \(text)")
            XCTAssertTrue(text.contains("must be") || text.contains("less than one sample"), "\(bad): \(text)")
        }
    }
}

/// A generated corpus of damaged shards, each checked by the real `avtool data verify --deep` under
/// a time limit: every run ends (no hang) with an exit, never a signal; damage inside a waveform
/// chunk is always reported; structural damage (a dataset missing, mistyped or misshaped; the file
/// truncated) is an error naming the file.
final class HostileShardCorpusTests: XCTestCase {
    var avtool: String { get throws { try TestSupport.executable("avtool") } }

    func verify(_ path: String) throws -> (status: Int32?, output: String, signal: Bool) {
        let p = try LiveProcess(avtool, ["data", "verify", "--deep", path])
        let status = p.finish(timeout: 60)
        return (status, p.output, p.endedBySignal)
    }

    func testTruncationsAndFlippedBytes() throws {
        _ = try avtool
        var c = DemoConfig()
        c.classes = 2; c.trainPerClass = 3; c.evalPerClass = 1; c.seconds = 0.25; c.sampleRate = 8000; c.dim = 8; c.captions = 2; c.frames = 2
        let d = try DemoDataset.make(in: TestSupport.tempDir("corpus").path, config: c)
        let good = try Data(contentsOf: URL(fileURLWithPath: d.train.shardPath(0)))
        let dir = TestSupport.tempDir("corpus-cases").path
        var rng = Rng(seed: 21)
        var cases: [(String, Data)] = []
        for i in 0..<16 { cases.append(("cut\(i)", good.prefix(good.count * i / 16 + Int(rng.below(64))))) }
        for i in 0..<48 {
            var b = good
            let at = Int(rng.below(b.count))
            b[at] ^= UInt8(1 << Int(rng.below(8)))
            cases.append(("flip\(i)-at\(at)", b))
        }
        // Where the waveform chunks are: flips there must always be reported.
        let s = try Shard(path: d.train.shardPath(0))
        let wave = try s.waveforms(start: 0, rows: s.count)
        let row0 = wave[500..<516].withUnsafeBufferPointer { Data(buffer: $0) }
        let waveAt = try XCTUnwrap(good.range(of: row0)?.lowerBound)
        for i in 0..<8 {
            var b = good
            b[waveAt + 2 * i] ^= 0x04
            cases.append(("waveflip\(i)", b))
        }
        for (name, bytes) in cases {
            let path = dir + "/\(name).h5"
            try bytes.write(to: URL(fileURLWithPath: path))
            let r = try verify(path)
            XCTAssertNotNil(r.status, "\(name): hang (killed after 60 s)")
            XCTAssertFalse(r.signal, "\(name): ended by a signal: \(r.output)")
            XCTAssertTrue(r.status == 0 || r.status == 1, "\(name): status \(String(describing: r.status))")
            if name.hasPrefix("cut") || name.hasPrefix("waveflip") {
                XCTAssertEqual(r.status, 1, "\(name) passed as good: \(r.output)")
                XCTAssertTrue(r.output.contains(path), "\(name): \(r.output)")
            }
        }
    }

    /// Every dataset missing, mistyped or misshaped (written by h5py): an error naming the file.
    func testDatasetsMissingMistypedMisshaped() throws {
        try XCTSkipUnless(TestSupport.h5pyAvailable, "python3 cannot import h5py: the dataset-variant corpus is NOT tested")
        let dir = TestSupport.tempDir("corpus-h5py").path
        let script = dir + "/make.py"
        try """
            import sys, h5py, numpy as np
            out, name, how = sys.argv[1], sys.argv[2], sys.argv[3]
            n = 4
            good = {
                'audio_name': np.array([b'a'] * n, dtype='S4'),
                'waveform': np.ones((n, 100), dtype=np.int16),
                'target': np.ones((n, 2), dtype=bool),
                'label': np.zeros(n, dtype=np.int32),
                'text_embedding': np.ones((n, 1, 4), dtype=np.float32),
                'image_embedding': np.ones((n, 1, 4), dtype=np.float32),
            }
            with h5py.File(out, 'w') as h:
                for k, v in good.items():
                    if k == name and how == 'missing':
                        continue
                    if k == name and how == 'mistyped':
                        v = np.full(v.shape, 1.5, dtype=np.float64) if v.dtype.kind != 'f' else np.ones(v.shape, dtype=np.int64)
                    if k == name and how == 'misshaped':
                        v = v.reshape(-1) if v.ndim > 1 else v.reshape(n, 1, 1)
                    h.create_dataset(k, data=v)
                if not (name == 'class_names' and how == 'missing'):
                    h.create_dataset('class_names', data=['a', 'b'] if how != 'misshaped' or name != 'class_names' else ['a', 'b', 'c'],
                                     dtype=h5py.string_dtype())
                h.attrs['sample_rate'] = 16000
            """.write(toFile: script, atomically: true, encoding: .utf8)
        for name in ["audio_name", "waveform", "target", "label", "text_embedding", "image_embedding", "class_names"] {
            for how in ["missing", "mistyped", "misshaped"] where !(name == "class_names" && how == "mistyped") {
                let path = dir + "/\(name)-\(how).h5"
                let (ok, out) = try TestSupport.run("/usr/bin/env", ["python3", script, path, name, how])
                XCTAssertEqual(ok, 0, out)
                let p = try LiveProcess(avtool, ["data", "verify", "--deep", path])
                let status = p.finish(timeout: 60)
                XCTAssertFalse(p.endedBySignal, "\(name) \(how): \(p.output)")
                if name == "audio_name" && how == "mistyped" { XCTAssertNotNil(status); continue }   // numbers as names: documented acceptance
                XCTAssertEqual(status, 1, "\(name) \(how) passed as good: \(p.output)")
                XCTAssertTrue(p.output.contains(path), "\(name) \(how): \(p.output)")
            }
        }
    }
}
