import XCTest
import AVHDF5
import AVData
import AVTensor
import TestSupport
import AVSafetensors

/// Shards written by h5py (in the PANNs-style schema) load here, and our shards open in h5py.
/// Skips only when `python3 -c 'import h5py'` fails (CI installs h5py).
final class H5pyCompatTests: XCTestCase {
    func python(_ script: String, _ args: [String]) throws -> String {
        try XCTSkipUnless(TestSupport.h5pyAvailable, "python3 cannot import h5py/numpy: h5py compatibility NOT tested")
        let dir = TestSupport.tempDir()
        let file = dir.appendingPathComponent("script.py").path
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        let (status, out) = try TestSupport.run("/usr/bin/env", ["python3", file] + args)
        XCTAssertEqual(status, 0, out)
        return out
    }

    static let h5pyWriter = """
    import sys, h5py, numpy as np
    out = sys.argv[1]
    n, s, k, f, d, c = 6, 40, 3, 2, 8, 5
    rng = np.random.default_rng(7)
    wave = rng.integers(-32768, 32768, size=(n, s), dtype=np.int16)
    text = rng.standard_normal((n, k, d)).astype(np.float16)
    image = rng.standard_normal((n, f, d)).astype(np.float32)
    target = np.zeros((n, c), dtype=bool)
    label = np.array([0, 1, 2, 3, 4, 1], dtype=np.int32)
    target[np.arange(n), label] = True
    target[5, 3] = True
    names = np.array([b'Y%05d.wav' % i for i in range(n)], dtype='S20')
    with h5py.File(out + '/shard.h5', 'w') as h:
        h.create_dataset('audio_name', data=names)
        h.create_dataset('waveform', data=wave, chunks=(1, s))
        h.create_dataset('target', data=target, compression='gzip')
        h.create_dataset('label', data=label)
        h.create_dataset('text_embedding', data=text, chunks=(1, k, d))
        h.create_dataset('image_embedding', data=image)
        h.create_dataset('class_names', data=['dog_bark', 'rain', 'siren', 'speech', 'wind'], dtype=h5py.string_dtype())
        h.attrs['sample_rate'] = 16000
        h.attrs['embedding_model'] = 'ViT-B-32/openai'
    np.save(out + '/wave.npy', wave.astype(np.float32))
    np.save(out + '/text.npy', text)
    np.save(out + '/image.npy', image)
    print('ok')
    """

    func testShardWrittenByH5pyLoads() throws {
        let dir = TestSupport.tempDir()
        _ = try python(Self.h5pyWriter, [dir.path])
        let s = try Shard(path: dir.path + "/shard.h5")
        XCTAssertEqual(s.count, 6)
        XCTAssertEqual(s.layout.classNames, ["dog_bark", "rain", "siren", "speech", "wind"])
        XCTAssertEqual(s.layout.sampleRate, 16000)
        XCTAssertEqual(s.layout.embeddingModel, "ViT-B-32/openai")
        XCTAssertEqual(s.layout.embeddingDType, .float16)
        XCTAssertEqual(try s.names(), (0..<6).map { String(format: "Y%05d.wav", $0) })
        XCTAssertEqual(try s.labels(), [0, 1, 2, 3, 4, 1])
        let t = try s.targets(start: 0, rows: 6)
        XCTAssertEqual(t[5 * 5 + 1], 1); XCTAssertEqual(t[5 * 5 + 3], 1); XCTAssertEqual(t.reduce(0) { $0 + Int($1) }, 7)
        let wave = try NpyArray(path: dir.path + "/wave.npy"), text = try NpyArray(path: dir.path + "/text.npy")
        let image = try NpyArray(path: dir.path + "/image.npy")
        XCTAssertEqual(text.element, .float16); XCTAssertEqual(text.shape, [6, 3, 8])
        let w = try s.waveforms(start: 0, rows: 6)
        let e = try s.embeddings(ShardSchema.textEmbedding, start: 0, rows: 6)
        let im = try s.embeddings(ShardSchema.imageEmbedding, start: 0, rows: 6)
        for r in 0..<6 {
            XCTAssertEqual(w[(r * 40)..<((r + 1) * 40)].map { Float($0) }, try wave.row(r))
            XCTAssertEqual(Array(e[(r * 24)..<((r + 1) * 24)]), try text.row(r))
            XCTAssertEqual(Array(im[(r * 16)..<((r + 1) * 16)]), try image.row(r))
        }
        // And through the loader (a manifest written for the h5py shard).
        let m = Manifest(layout: s.layout, shards: [.init(file: "shard.h5", clips: 6)], path: dir.path + "/manifest.json")
        try m.write(to: m.path)
        let loader = try ShardedLoader(manifestPath: m.path, rank: 0, worldSize: 1, batchPerRank: 6, seed: 0,
                                       featurizer: WaveformFeaturizer(samples: 40))
        let b = try XCTUnwrap(try loader.epoch(0).next())
        for j in 0..<6 {
            let id = b.clipIDs[j]
            XCTAssertEqual(Array(b.images.buffer[(j * 40)..<((j + 1) * 40)]), try wave.row(id).map { $0 / 32768 })
            XCTAssertEqual(Array(b.text.buffer[(j * 8)..<((j + 1) * 8)]), Array(try text.row(id)[(b.captionIndex[j] * 8)..<((b.captionIndex[j] + 1) * 8)]))
        }
        XCTAssertEqual(b.labelSets[b.clipIDs.firstIndex(of: 5)!], [1, 3])
    }

    static let h5pyReader = """
    import sys, json, h5py, numpy as np
    with h5py.File(sys.argv[1], 'r') as h:
        r = {k: str(h[k].dtype) for k in h.keys()}
        r['shapes'] = {k: list(h[k].shape) for k in h.keys()}
        r['attrs'] = {k: (v if isinstance(v, str) else int(v)) for k, v in h.attrs.items()}
        r['names'] = [x.decode() for x in h['audio_name'][:]]
        r['classes'] = [x.decode() for x in h['class_names'][:]]
        r['target'] = h['target'][:].astype(int).tolist()
        r['target_is_bool'] = h['target'].dtype == np.bool_
        r['label'] = h['label'][:].tolist()
        r['wave_row1'] = h['waveform'][1].astype(int).tolist()
        r['text_row2'] = h['text_embedding'][2].astype(float).ravel().tolist()
        r['image_row0'] = h['image_embedding'][0].astype(float).ravel().tolist()
        r['chunks'] = list(h['waveform'].chunks)
    print(json.dumps(r))
    """

    func testOurShardOpensInH5py() throws {
        let dir = TestSupport.tempDir()
        let l = ShardLayout(dataset: "x", split: "eval", sampleRate: 22050, clipSamples: 30, classNames: ["a", "b_c", "d"],
                            captionsPerClip: 2, framesPerClip: 3, embeddingDim: 4, embeddingModel: "m", embeddingDType: .float16)
        let w = try ShardWriter(path: dir.path + "/s.h5", layout: l, capacity: 3)
        var texts: [[Float]] = [], images: [[Float]] = [], waves: [[Int16]] = []
        for i in 0..<3 {
            waves.append((0..<30).map { Int16(truncatingIfNeeded: ($0 * 2749 + i * 9001) % 65536 - 32768) })
            texts.append(TestSupport.randn(8, seed: UInt64(i))); images.append(TestSupport.randn(12, seed: UInt64(9 + i)))
            try w.append(name: "clip-\(i).flac", waveform: waves[i], labels: i == 2 ? [2, 0] : [i], text: texts[i], image: images[i], sourceRow: i)
        }
        try w.finish()
        let out = try python(Self.h5pyReader, [dir.path + "/s.h5"])
        let json = try XCTUnwrap(out.split(separator: "\n").last)
        let r = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(r["waveform"] as? String, "int16")
        XCTAssertEqual(r["target"] as? [[Int]], [[1, 0, 0], [0, 1, 0], [1, 0, 1]])
        XCTAssertEqual(r["target_is_bool"] as? Bool, true)
        XCTAssertEqual(r["label"] as? [Int], [0, 1, 2])
        XCTAssertEqual(r["text_embedding"] as? String, "float16")
        XCTAssertEqual(r["label"] as? [Int], [0, 1, 2])
        XCTAssertEqual(r["names"] as? [String], ["clip-0.flac", "clip-1.flac", "clip-2.flac"])
        XCTAssertEqual(r["classes"] as? [String], ["a", "b_c", "d"])
        XCTAssertEqual(r["wave_row1"] as? [Int], waves[1].map(Int.init))
        XCTAssertEqual((r["text_row2"] as? [Double])?.map { Float($0) }, texts[2].map { Float(Float16($0)) })
        XCTAssertEqual((r["image_row0"] as? [Double])?.map { Float($0) }, images[0].map { Float(Float16($0)) })
        XCTAssertEqual(r["chunks"] as? [Int], [1, 30])
        let attrs = try XCTUnwrap(r["attrs"] as? [String: Any])
        XCTAssertEqual(attrs["sample_rate"] as? Int, 22050)
        XCTAssertEqual(attrs["split"] as? String, "eval")
        XCTAssertEqual(attrs["embedding_dim"] as? Int, 4)
        XCTAssertEqual((r["shapes"] as? [String: [Int]])?["image_embedding"], [3, 3, 4])
    }
}

/// The class-embedding file written by Datasets/clip_embeddings.py (its own safetensors writer) loads.
final class ClipScriptTests: XCTestCase {
    func testClassEmbeddingFileFromThePythonScriptLoads() throws {
        try XCTSkipUnless(TestSupport.h5pyAvailable, "python3 cannot import numpy/h5py: the script's writer is NOT tested")
        let out = TestSupport.tempDir().appendingPathComponent("ce.safetensors").path
        let script = TestSupport.packageRoot.appendingPathComponent("Datasets").path
        let code = """
        import sys, json, random, numpy as np
        sys.path.insert(0, sys.argv[1])
        import clip_embeddings as c
        e = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
        c.write_safetensors(sys.argv[2], {'class_embedding': e}, {'class_names': json.dumps(['dog_bark', 'rain', 'sea waves']), 'prompt': c.PROMPT})
        print(c.PROMPT.format(c.readable('dog_bark')))
        print(c.caption_variants(['dog_bark'], 3, random.Random(0))[0])
        """
        let file = TestSupport.tempDir().appendingPathComponent("t.py").path
        try code.write(toFile: file, atomically: true, encoding: .utf8)
        let (status, text) = try TestSupport.run("/usr/bin/env", ["python3", "-B", file, script, out])
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("This is a sound of dog bark."), text)
        let st = try SafetensorsFile(path: out)
        XCTAssertEqual(try st.entry("class_embedding").shape, [3, 4])
        XCTAssertEqual(try st.floats("class_embedding"), (0..<12).map { Float($0) / 10 })
        XCTAssertEqual(st.metadata["class_names"], "[\"dog_bark\", \"rain\", \"sea waves\"]")
    }
}
