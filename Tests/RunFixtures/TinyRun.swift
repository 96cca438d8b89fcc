import Foundation
import AVData
import AVTrain
import TestSupport

/// A very small synthesized demo set (64 clips of 0.5 s at 8 kHz, D = 16) and a config for the
/// tiny Swin preset on 32 × 32 log-mel images.
public enum TinyRun {
    public static func data() throws -> String {
        let dir = TestSupport.tempDir("avtrain-data")
        var c = DemoConfig()
        c.classes = 4; c.trainPerClass = 16; c.evalPerClass = 2
        c.seconds = 0.5; c.sampleRate = 8000; c.dim = 16; c.captions = 2; c.frames = 2; c.shardSize = 32
        return try DemoDataset.make(in: dir.path, config: c).trainManifestPath
    }

    public static func toml(manifest: String, out: String, extra: String = "") -> String {
        TestSupport.tinyRunTOML(manifest: manifest, out: out, extra: extra)
    }

    public static func config(manifest: String, out: String, overrides: [String] = []) throws -> TrainConfig {
        try TrainConfig.parse(toml(manifest: manifest, out: out), file: "tiny.toml", overrides: overrides)
    }

    public static func values(_ t: Trainer) -> [Float] { t.model.params.values.array }
}
