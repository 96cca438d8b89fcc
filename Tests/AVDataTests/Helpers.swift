import Foundation
import AVTensor
import AVData
import AVHDF5
import CHDF5

/// A real, trivially checkable featurizer: the image is the waveform itself (1 × samples) and the
/// augmented view is the waveform negated, so tests can compare the delivered audio exactly.
struct WaveformFeaturizer: ClipFeaturizer {
    let samples: Int
    var imageShape: (height: Int, width: Int) { (1, samples) }
    func features(waveform: [Float], training: Bool, rng: inout Rng) -> (image: [Float], augmented: [Float]) {
        (waveform, waveform.map { -$0 })
    }
}

/// A small demo config for tests (fast: 1 s clips at 8 kHz).
func smallDemo(seed: UInt64 = 3) -> DemoConfig {
    var c = DemoConfig()
    c.classes = 4; c.trainPerClass = 10; c.evalPerClass = 3
    c.seconds = 0.5; c.sampleRate = 8000; c.dim = 16; c.captions = 3; c.frames = 2; c.shardSize = 16
    c.seed = seed
    return c
}

extension H5File {
    /// Removes the link `name` (for building damaged shards; the library never deletes).
    func remove(_ name: String) throws {
        guard H5Ldelete(id, name, 0 /* H5P_DEFAULT */) >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path + ":" + name]) }
    }
}
