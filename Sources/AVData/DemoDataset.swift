import Foundation
import AVTensor
import AVAudio
import AVSafetensors

/// The built-in demo dataset (`avtool data synth`): synthesised sounds (`DemoSounds`) with CLIP-like
/// text and image embeddings, a train and an eval split (shards + manifest each) and the class
/// embeddings for zero-shot evaluation. Same config and seed → byte-identical files.
///
/// Embedding structure (all unit vectors in D dimensions): class c has a text prototype t_c, an image
/// prototype i_c = normalise(0.6 t_c + 0.8 r_c) (cos = 0.6, like CLIP's modality gap) and a
/// within-class direction v_c (r_c and v_c orthogonal to all text prototypes when D > C). A clip with parameter u gets o = (u − ½)·spread·v_c plus a clip-level
/// offset; caption k is normalise(t_c + o + noise_k) and frame f is normalise(i_c + o + noise_f).
/// The class embedding ("This is a sound of {class}.") is t_c.
public struct DemoConfig: Sendable, Equatable {
    /// Sizes: synthesised classes, clips per class per split, clip length and rate, embedding width
    /// D, captions K and frames F per clip, clips per shard; the seed; the stored embedding type.
    public var classes = 8
    public var trainPerClass = 64
    public var evalPerClass = 16
    public var seconds: Double = 4
    public var sampleRate = 16000
    public var dim = 64
    public var captions = 4
    public var frames = 4
    public var shardSize = 256
    public var seed: UInt64 = 0
    public var dtype: EmbeddingDType = .float16
    /// Spread of the within-class direction and the noise levels.
    public var spread: Float = 0.8
    public var captionNoise: Float = 0.25
    public var frameNoise: Float = 0.25
    /// Adds a class of words spoken by espeak-ng (`DemoSpeech`; needs espeak-ng installed).
    public var speech = false

    public init() {}
    public var clipSamples: Int { Int((seconds * Double(sampleRate)).rounded()) }
    /// Classes including the optional spoken-word class.
    public var totalClasses: Int { classes + (speech ? 1 : 0) }
}

/// Writes the demo dataset described by a `DemoConfig` (see there for the embedding structure).
public enum DemoDataset {
    /// Files written by `make`.
    public struct Output: Sendable {
        /// The manifests of the two splits, where they were written, and the class-embedding file.
        public var train: Manifest
        public var eval: Manifest
        public var trainManifestPath: String
        public var evalManifestPath: String
        public var classEmbeddingsPath: String
    }

    /// Class prototypes: text t_c, image i_c, within-class direction v_c (each C×D, unit rows).
    struct Prototypes {
        var text: [[Float]], image: [[Float]], direction: [[Float]]
    }

    static func unit(_ v: [Float]) -> [Float] {
        var out = v, norm: Float = 0
        out.withUnsafeMutableBufferPointer { L2Normalize.forward(out: $0.baseAddress!, norms: &norm, inp: v, rows: 1, cols: v.count) }
        return out
    }

    static func randomUnit(_ d: Int, _ rng: inout Rng) -> [Float] { unit((0..<d).map { _ in rng.normal() }) }

    /// `v` minus its components along `basis` (orthonormal rows), normalised.
    static func orthogonal(_ v: [Float], to basis: [[Float]]) -> [Float] {
        var x = v
        for b in basis {
            let dot = zip(x, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            for j in 0..<x.count { x[j] -= dot * b[j] }
        }
        return unit(x)
    }

    static func prototypes(_ c: DemoConfig) -> Prototypes {
        var rng = Rng(seed: EpochPlan.mix(c.seed, 0xC1A5))
        let text = (0..<c.totalClasses).map { _ in randomUnit(c.dim, &rng) }
        // The image-specific part r_c and the within-class direction v_c are orthogonal to every
        // class text prototype (when D > C), so neither moves a clip toward another class.
        var basis: [[Float]] = []
        if c.dim > c.totalClasses { for t in text { basis.append(orthogonal(t, to: basis)) } }
        var p = Prototypes(text: text, image: [], direction: [])
        for t in text {
            let r = orthogonal(randomUnit(c.dim, &rng), to: basis)
            p.image.append(unit(zip(t, r).map { 0.6 * $0 + 0.8 * $1 }))
            p.direction.append(orthogonal(randomUnit(c.dim, &rng), to: basis))
        }
        return p
    }

    /// The class names (`DemoSounds.name`).
    public static func classNames(_ c: DemoConfig) -> [String] {
        (0..<c.classes).map(DemoSounds.name) + (c.speech ? [DemoSpeech.className] : [])
    }

    /// One clip: (class, int16 waveform, K×D text, F×D image).
    static func clip(_ i: Int, split: UInt64, _ c: DemoConfig, _ p: Prototypes, vocabulary: [[[Float]]]?) -> (Int, [Int16], [Float], [Float]) {
        let cls = i % c.totalClasses
        var rng = Rng(seed: EpochPlan.mix(c.seed, split, UInt64(i)))
        let u = rng.uniform(), gain = 0.3 + 0.6 * rng.uniform()
        let wave = cls == c.classes && c.speech
            ? DemoSpeech.synthesize(vocabulary ?? [], u: u, gain: gain, samples: c.clipSamples, rng: &rng)
            : DemoSounds.synthesize(cls, u: u, gain: gain, samples: c.clipSamples, rate: c.sampleRate, rng: &rng)
        let d = c.dim
        let noiseScale = 1 / Float(d).squareRoot()
        let clipOffset = (0..<d).map { _ in rng.normal() * 0.1 * noiseScale }
        let o = (0..<d).map { (u - 0.5) * c.spread * p.direction[cls][$0] + clipOffset[$0] }
        var text: [Float] = [], image: [Float] = []
        for _ in 0..<c.captions {
            text += unit((0..<d).map { p.text[cls][$0] + o[$0] + c.captionNoise * noiseScale * rng.normal() })
        }
        for _ in 0..<c.frames {
            image += unit((0..<d).map { p.image[cls][$0] + o[$0] + c.frameNoise * noiseScale * rng.normal() })
        }
        return (cls, PCM16.encode(wave), text, image)
    }

    /// Writes `dir/train/`, `dir/eval/` (shards + manifest.json), `dir/class_embeddings.safetensors` and
    /// `dir/examples/<class>.wav` (the first eval clip of each class).
    /// `progress` is called after each clip with (clips done, clips total).
    public static func make(in dir: String, config c: DemoConfig, progress: ((Int, Int) -> Void)? = nil) throws -> Output {
        guard c.classes > 0, c.trainPerClass > 0, c.evalPerClass > 0, c.clipSamples > 0, c.dim > 1,
              c.captions > 0, c.frames > 0, c.shardSize > 0 else {
            throw DataError(file: dir, reason: "demo config has a zero or negative size: \(c)")
        }
        let p = prototypes(c)
        let names = classNames(c)
        let vocabulary = c.speech ? try DemoSpeech.vocabulary(rate: c.sampleRate) : nil
        let total = c.totalClasses * (c.trainPerClass + c.evalPerClass)
        var done = 0
        var manifests: [(Manifest, String)] = []
        for (tag, split, perClass) in [(UInt64(1), "train", c.trainPerClass), (UInt64(2), "eval", c.evalPerClass)] {
            let sub = dir + "/" + split
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
            let layout = ShardLayout(dataset: "demo", split: split, sampleRate: c.sampleRate, clipSamples: c.clipSamples,
                                     classNames: names, captionsPerClip: c.captions, framesPerClip: c.frames,
                                     embeddingDim: c.dim, embeddingModel: "synthetic-clip-like-d\(c.dim)", embeddingDType: c.dtype)
            let n = c.totalClasses * perClass
            var entries: [Manifest.Entry] = []
            for (s, start) in stride(from: 0, to: n, by: c.shardSize).enumerated() {
                let file = String(format: "\(split)-%05d.h5", s)
                let rows = min(c.shardSize, n - start)
                let w = try ShardWriter(path: sub + "/" + file, layout: layout, capacity: rows, nameLength: 24)
                for i in start..<(start + rows) {
                    let (cls, wave, text, image) = clip(i, split: tag, c, p, vocabulary: vocabulary)
                    try w.append(name: String(format: "demo-\(split)-%06d.wav", i), waveform: wave, labels: [cls],
                                 text: text, image: image, sourceRow: i)
                    done += 1
                    progress?(done, total)
                }
                entries.append(Manifest.Entry(file: file, clips: try w.finish()))
            }
            let m = Manifest(layout: layout, shards: entries, path: sub + "/manifest.json")
            try m.write(to: m.path)
            manifests.append((m, m.path))
        }
        var st = SafetensorsWriter(metadata: [
            "class_names": String(decoding: try JSONEncoder().encode(names), as: UTF8.self),
            "prompt": "This is a sound of {class}.",
            "embedding_model": "synthetic-clip-like-d\(c.dim)",
        ])
        st.add("class_embedding", shape: [c.totalClasses, c.dim], floats: p.text.flatMap { $0 })
        let ce = dir + "/class_embeddings.safetensors"
        try st.write(to: ce)
        // One eval clip per class as a WAV file, for trying avembed on a sound file.
        let examples = dir + "/examples"
        try FileManager.default.createDirectory(atPath: examples, withIntermediateDirectories: true)
        for cls in 0..<c.totalClasses {
            let (_, wave, _, _) = clip(cls, split: 2, c, p, vocabulary: vocabulary)
            try AudioFile.write(examples + "/\(names[cls]).wav", samples: PCM16.decode(wave), sampleRate: c.sampleRate)
        }
        return Output(train: manifests[0].0, eval: manifests[1].0, trainManifestPath: manifests[0].1,
                      evalManifestPath: manifests[1].1, classEmbeddingsPath: ce)
    }
}
