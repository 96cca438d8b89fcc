import XCTest
import Foundation
import AVData
import AVHDF5
import TestSupport
import AVAudio
import AVTensor

/// Hostile manifests, .npy headers, shards and pack options from the data-tools issue: each ends
/// in an error naming the file (no trap, no huge allocation). The rest of that corpus is
/// still to come; these are the crashes it reported.
final class HostileDataTests: XCTestCase {
    func demo() throws -> DemoDataset.Output {
        var c = DemoConfig()
        c.classes = 4; c.trainPerClass = 4; c.evalPerClass = 1; c.seconds = 0.25; c.sampleRate = 8000; c.dim = 8
        c.captions = 2; c.frames = 2; c.shardSize = 8
        return try DemoDataset.make(in: TestSupport.tempDir("hostile-data").path, config: c)
    }

    func manifestJSON(_ m: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: m))) as? [String: Any])
    }

    func write(_ json: [String: Any], _ path: String) throws {
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
    }

    func testHostileManifests() throws {
        let d = try demo()
        let good = try manifestJSON(d.trainManifestPath)
        let dir = (d.trainManifestPath as NSString).deletingLastPathComponent
        var shards = try XCTUnwrap(good["shards"] as? [[String: Any]])
        func expectError(_ json: [String: Any], _ needle: String, line: UInt = #line) throws {
            let p = dir + "/hostile.json"
            try write(json, p)
            XCTAssertThrowsError(try Manifest.load(p), line: line) { e in
                XCTAssertTrue("\(e)".contains(p) && "\(e)".contains(needle), "\(e)", line: line)
            }
            XCTAssertThrowsError(try ShardInspector.describe(p), line: line)
        }
        var j = good
        shards[0]["clips"] = Int.max
        j["shards"] = shards
        try expectError(j, "not a clip count")
        shards[0]["clips"] = 8
        j["shards"] = shards + shards
        try expectError(j, "listed twice")
        j["shards"] = [] as [Any]
        try expectError(j, "no shards")
        var layout = try XCTUnwrap(good["layout"] as? [String: Any])
        layout["clip_samples"] = 1 << 40
        j = good; j["layout"] = layout
        try expectError(j, "10 minutes")
        // A manifest that claims 16 classes for 8-class shards: an error from inspect, not a trap.
        layout = try XCTUnwrap(good["layout"] as? [String: Any])
        layout["class_names"] = (0..<16).map { "c\($0)" }
        j = good; j["layout"] = layout
        let p = dir + "/classes.json"
        try write(j, p)
        XCTAssertThrowsError(try ShardInspector.describe(p)) { XCTAssertTrue("\($0)".contains("class_names"), "\($0)") }
        // Absolute shard paths are used as they are.
        shards = try XCTUnwrap(good["shards"] as? [[String: Any]])
        shards = shards.map { var s = $0; s["file"] = dir + "/" + ((s["file"] as? String) ?? ""); return s }
        j = good; j["shards"] = shards
        let abs = TestSupport.tempDir("hostile-abs").path + "/manifest.json"
        try write(j, abs)
        let text = try ShardInspector.describe(abs)
        XCTAssertFalse(text.contains("//"), text)
    }

    func testHostileNpyShapes() throws {
        let dir = TestSupport.tempDir("hostile-npy").path
        for shape in ["(4611686018427387904, 4, 16)", "(4, 1099511627776, 1073741824)", "(-1, 4)", "(3, 4)"] {
            var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
            while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0])
            data.append(Data(header.utf8))
            data.append(Data(count: 16))
            let p = dir + "/x.npy"
            try data.write(to: URL(fileURLWithPath: p))
            XCTAssertThrowsError(try NpyArray(path: p), shape) { XCTAssertTrue("\($0)".contains(p), "\($0)") }
        }
    }

    /// A shard whose waveform is declared [32, 2^40] (sparse, never allocated) is refused on open.
    func testSparseHugeWaveformIsRefused() throws {
        try XCTSkipUnless(TestSupport.h5pyAvailable, "python3 cannot import h5py: the sparse-shard case is NOT tested")
        let dir = TestSupport.tempDir("hostile-sparse").path
        let script = dir + "/make.py"
        try """
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], 'w') as h:
                h.create_dataset('audio_name', data=np.array([b'a'] * 32, dtype='S4'))
                h.create_dataset('waveform', shape=(32, 2**40), dtype=np.int16, chunks=(1, 4096))
                h.create_dataset('target', data=np.zeros((32, 2), dtype=bool))
                h.create_dataset('label', data=np.zeros(32, dtype=np.int32))
                h.create_dataset('text_embedding', data=np.ones((32, 1, 4), dtype=np.float32))
                h.create_dataset('image_embedding', data=np.ones((32, 1, 4), dtype=np.float32))
                h.create_dataset('class_names', data=['a', 'b'], dtype=h5py.string_dtype())
                h.attrs['sample_rate'] = 16000
            """.write(toFile: script, atomically: true, encoding: .utf8)
        let (status, out) = try TestSupport.run("/usr/bin/env", ["python3", script, dir + "/sparse.h5"])
        XCTAssertEqual(status, 0, out)
        XCTAssertThrowsError(try Shard(path: dir + "/sparse.h5")) { e in
            XCTAssertTrue("\(e)".contains("sparse.h5") && "\(e)".contains("waveform") && "\(e)".contains("limits"), "\(e)")
        }
        var report = ShardVerifier.Report()
        ShardVerifier().verifyShard(dir + "/sparse.h5", into: &report)
        XCTAssertFalse(report.ok)
    }

    /// Types HDF5 would convert silently are refused on open: a float `label` (7.7 would become 7),
    /// an int64 `target`; and K = 0 captions.
    func testSilentlyConvertedTypesAreRefused() throws {
        try XCTSkipUnless(TestSupport.h5pyAvailable, "python3 cannot import h5py: the mistyped-shard cases are NOT tested")
        let dir = TestSupport.tempDir("hostile-types").path
        let script = dir + "/make.py"
        try """
            import sys, h5py, numpy as np
            out, case = sys.argv[1], sys.argv[2]
            n = 4
            with h5py.File(out, 'w') as h:
                h.create_dataset('audio_name', data=np.array([b'a'] * n, dtype='S4'))
                h.create_dataset('waveform', data=np.zeros((n, 100), dtype=np.int16))
                h.create_dataset('target', data=np.ones((n, 2), dtype=np.int64 if case == 'target' else bool))
                h.create_dataset('label', data=np.full(n, 7.7 if case == 'label' else 1, dtype=np.float64 if case == 'label' else np.int32))
                k = 0 if case == 'k0' else 1
                h.create_dataset('text_embedding', data=np.ones((n, k, 4), dtype=np.float32))
                h.create_dataset('image_embedding', data=np.ones((n, 1, 4), dtype=np.float32))
                h.create_dataset('class_names', data=['a', 'b'], dtype=h5py.string_dtype())
                h.attrs['sample_rate'] = 16000
            """.write(toFile: script, atomically: true, encoding: .utf8)
        for (c, needle) in [("label", "expected an integer class number, found float64"), ("target", "expected bool (multi-hot), found int64"),
                            ("k0", "outside the limits")] {
            let path = dir + "/\(c).h5"
            let (status, out) = try TestSupport.run("/usr/bin/env", ["python3", script, path, c])
            XCTAssertEqual(status, 0, out)
            XCTAssertThrowsError(try Shard(path: path), c) { XCTAssertTrue("\($0)".contains(path) && "\($0)".contains(needle), "\($0)") }
        }
    }

    /// A byte flipped inside a waveform chunk of a new shard fails its Fletcher-32 checksum: the
    /// read of that clip is an error naming it (what the loader does), `verify --deep` reports it,
    /// the quick verify does not read it; a shard without checksums gets a warning.
    func testFlippedWaveformByteIsCaught() throws {
        let d = try demo()
        let path = d.train.shardPath(0)
        // (Closed before the flip: HDF5 shares an open file's chunk cache with a second open.)
        let row: [Int16] = try {
            let s = try Shard(path: path)
            XCTAssertTrue(s.hasChecksums)
            return try s.waveforms(start: 5, rows: 1)
        }()
        var file = try Data(contentsOf: URL(fileURLWithPath: path))
        let needle = row[1000..<1016].withUnsafeBufferPointer { Data(buffer: $0) }
        let at = try XCTUnwrap(file.range(of: needle)?.lowerBound, "row 5's samples are stored as written")
        file[at + 7] ^= 0x10
        try file.write(to: URL(fileURLWithPath: path))
        let damaged = try Shard(path: path)
        XCTAssertThrowsError(try damaged.waveforms(start: 5, rows: 1)) { e in
            XCTAssertTrue("\(e)".contains(path) && "\(e)".contains("waveform") && "\(e)".contains("5"), "\(e)")
        }
        XCTAssertNoThrow(try damaged.waveforms(start: 4, rows: 1), "other chunks still read")
        var deep = ShardVerifier.Report()
        ShardVerifier().verifyShard(path, into: &deep)
        XCTAssertTrue(deep.errors.contains { $0.index == 5 && $0.dataset == "waveform" }, "\(deep.errors)")
        var quick = ShardVerifier()
        quick.deep = false
        var q = ShardVerifier.Report()
        quick.verifyShard(path, into: &q)
        XCTAssertTrue(q.ok, "the structural check reads no rows")
        XCTAssertTrue(deep.kinds.contains { $0.kind.hasPrefix("waveform") && $0.errors >= 1 }, "\(deep.kinds)")
    }

    /// A primary label not set in `target` is refused by the loader's shard set, as verify refuses it.
    func testLabelNotInTargetIsRefusedAtLoad() throws {
        let d = try demo()
        do {
            let f = try H5File(openAt: d.train.shardPath(0), writable: true)
            try f.dataset(ShardSchema.target).write([UInt8](repeating: 0, count: 4), start: 2)
        }
        XCTAssertThrowsError(try ShardSet(manifest: d.train, onBadShard: .stop)) { e in
            XCTAssertTrue("\(e)".contains("target") && "\(e)".contains("clip 2") && "\(e)".contains("not set in target"), "\(e)")
        }
    }

    /// Differing class names are named, not counted ("8 but the manifest says 8").
    func testClassNameMismatchSaysWhichName() throws {
        let d = try demo()
        let s = try Shard(path: d.train.shardPath(0))
        var l = d.train.layout
        l.classNames[2] = "thunder"
        XCTAssertThrowsError(try s.check(against: l)) { e in
            XCTAssertTrue("\(e)".contains("name 2 is 'noise_band' but the manifest says 'thunder'"), "\(e)")
        }
    }
}

/// Packing a clip from a long file decodes only the clip's seconds, with the same samples as
/// decoding the whole file and cropping.
final class BoundedDecodeTests: XCTestCase {
    func testLongFileDecodesOnlyTheClip() throws {
        let dir = TestSupport.tempDir("long-audio").path
        let rate = 44100, seconds = 30
        var rng = Rng(seed: 9)
        let mono = (0..<(rate * seconds)).map { i in 0.3 * sinf(Float(i) * 0.013) + 0.05 * rng.normal() }
        let path = dir + "/long.wav"
        try AudioFile.write(path, samples: mono.flatMap { [$0, 0.5 * $0] }, sampleRate: rate, channels: 2)
        let head = try AudioFile.read(path, maxSeconds: 1)
        XCTAssertEqual(head.frames, rate, "one second read, not thirty")
        let full = try AudioDecoder.load(path, sampleRate: 16000)
        let clip = try AudioDecoder.load(path, sampleRate: 16000, maxSeconds: 2)
        XCTAssertLessThan(clip.count, 2 * 16000 + 16000 / 5)       // 2 s + the decoder's 150 ms margin
        // The same samples up to float rounding (the resampler's FFT blocks near the cut see zeros
        // instead of signal that lies beyond the filter's reach).
        let diff = zip(clip.prefix(32000), full.prefix(32000)).map { abs($0 - $1) }.max() ?? 1
        XCTAssertEqual(clip.count >= 32000 ? diff : 1, 0, accuracy: 1e-6, "the clip's samples do not depend on the cut")
    }
}
