import Foundation
import AVTensor
import AVData

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

/// Whether `python3 -c 'import h5py'` works (h5py needs numpy, so numpy is there too).
func h5pyAvailable() -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import h5py"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}
