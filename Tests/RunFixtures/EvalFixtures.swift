import Foundation
import AVTensor
import AVAudio
import AVModel
import AVData
import AVDist
import AVEval
import AVTrain
import TestSupport

/// A tiny demo set (4 classes, 0.5 s at 8 kHz, D = 16), a few training steps on it, and official
/// ESC-50 / UrbanSound8K layout folders with synthesised sounds of the same classes.
public enum EvalFixtures {
    public struct Run {
        public let data: DemoDataset.Output
        public let trainer: Trainer
        public let out: String
    }

    public static func demoConfig() -> DemoConfig {
        var c = DemoConfig()
        c.classes = 4; c.trainPerClass = 16; c.evalPerClass = 4
        c.seconds = 0.5; c.sampleRate = 8000; c.dim = 16; c.captions = 2; c.frames = 2; c.shardSize = 32
        return c
    }

    /// TestSupport's tiny run with an EMA teacher (when `momentum`), 8 steps and `[eval]` every 4.
    public static func config(_ d: DemoDataset.Output, out: String, momentum: Bool) throws -> TrainConfig {
        try TrainConfig.parse(TestSupport.tinyRunTOML(manifest: d.trainManifestPath, out: out, extra: """

            [eval]
            manifest = "\(d.evalManifestPath)"
            classes = "\(d.classEmbeddingsPath)"
            every = 4
            batch = 8
            """), file: "eval.toml", overrides: ["loss.weak_kd=0", "loss.momentum_kd=\(momentum ? 0.5 : 0)", "loss.ema_momentum=0.5",
                                                 "train.steps=8", "train.log_every=100"])
    }

    /// Trains 8 steps (with an EMA teacher when `momentum`) and returns the trainer and its data.
    public static func train(momentum: Bool = true) throws -> Run {
        let data = try DemoDataset.make(in: TestSupport.tempDir("aveval-data").path, config: demoConfig())
        let out = TestSupport.tempDir("aveval-run").path
        let config = try config(data, out: out, momentum: momentum)
        let t = try Trainer(config: config, comm: InProcessCommunicator.single())
        t.log = { _ in }
        try t.run()
        return Run(data: data, trainer: t, out: out)
    }

    /// One synthesised clip of demo class `cls` (`seconds` long at `rate`).
    public static func sound(_ cls: Int, variant: Int, seconds: Double, rate: Int) -> [Float] {
        var rng = Rng(seed: UInt64(1000 + 17 * cls + variant))
        let n = Int(seconds * Double(rate))
        return DemoSounds.synthesize(cls, u: Float(variant % 5) / 5, gain: 0.7, samples: n, rate: rate, rng: &rng)
    }

    public static let names = (0..<4).map(DemoSounds.name)

    /// An ESC-50-layout folder: 4 classes × 5 folds × 1 clip, 5 s at 44.1 kHz mono (as distributed).
    public static func esc50() throws -> String {
        let root = TestSupport.tempDir("esc50").path
        try FileManager.default.createDirectory(atPath: root + "/meta", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/audio", withIntermediateDirectories: true)
        var csv = OfficialLayouts.esc50Header.joined(separator: ",") + "\n"
        for fold in 1...5 {
            for cls in 0..<4 {
                let file = "\(fold)-\(100 + cls)-A-\(cls).wav"
                try AudioFile.write(root + "/audio/" + file, samples: sound(cls, variant: fold, seconds: 1.2, rate: 44100), sampleRate: 44100)
                csv += "\(file),\(fold),\(cls),\(names[cls]),False,\(100 + cls),A\n"
            }
        }
        try csv.write(toFile: root + "/meta/esc50.csv", atomically: true, encoding: .utf8)
        return root
    }

    /// An UrbanSound8K-layout folder: 4 classes × 3 folds, mixed rates, bit depths and channels,
    /// plus (with `bad`) a corrupt file and a listed file that is missing.
    public static func us8k(bad: Bool) throws -> String {
        let root = TestSupport.tempDir("us8k").path
        try FileManager.default.createDirectory(atPath: root + "/metadata", withIntermediateDirectories: true)
        var csv = OfficialLayouts.us8kHeader.joined(separator: ",") + "\r\n"
        let formats: [(Int, Int, AudioFile.Format)] = [(22050, 2, .wav24), (48000, 1, .wavFloat), (16000, 2, .wav16), (11025, 1, .flac16)]
        for fold in 1...3 {
            try FileManager.default.createDirectory(atPath: root + "/audio/fold\(fold)", withIntermediateDirectories: true)
            for cls in 0..<4 {
                let (rate, ch, fmt) = formats[(fold + cls) % formats.count]
                let mono = sound(cls, variant: 10 + fold, seconds: 0.4 + 0.2 * Double(cls), rate: rate)
                var x = [Float](repeating: 0, count: mono.count * ch)
                for i in 0..<mono.count { for c in 0..<ch { x[i * ch + c] = mono[i] * (c == 0 ? 1 : 0.8) } }
                let file = "\(200 + cls)-\(cls)-0-\(fold).\(fmt == .flac16 ? "flac" : "wav")"
                try AudioFile.write(root + "/audio/fold\(fold)/" + file, samples: x, sampleRate: rate, channels: ch, format: fmt)
                csv += "\(file),\(200 + cls),0.0,1.0,1,\(fold),\(cls),\(names[cls])\r\n"
            }
        }
        if bad {
            try Data("RIFF....WAVEjunk".utf8).write(to: URL(fileURLWithPath: root + "/audio/fold1/999-0-0-0.wav"))
            csv += "999-0-0-0.wav,999,0.0,1.0,1,1,0,\(names[0])\r\n"
            csv += "998-1-0-0.wav,998,0.0,1.0,1,2,1,\(names[1])\r\n"      // listed, not on disk
        }
        try csv.write(toFile: root + "/metadata/UrbanSound8K.csv", atomically: true, encoding: .utf8)
        return root
    }

    /// The 8 kHz front-end of these tests and a tiny random encoder for it (32 × 32 → 16).
    public static func tinyEncoder(batch: Int = 2) throws -> (SwinEncoder, FrontEnd) {
        let fe = try FrontEnd(FrontEndConfig(sampleRate: 8000, nFFT: 256, winLength: 200, hopLength: 120, nMels: 32, fmax: 4000,
                                             clipSamples: 4000, fold: false, imageHeight: 32, imageWidth: 32))
        var s = SwinConfig.preset("tiny")!
        s.imageSize = [32, 32]; s.embeddingSize = 16
        return (try SwinEncoder(config: s, batch: batch, forwardOnly: true), fe)
    }
}
