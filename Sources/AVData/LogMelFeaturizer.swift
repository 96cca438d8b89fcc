import AVAudio
import AVTensor

/// The training featurizer: AVAudio's `FrontEnd` (log-mel image, random crop in training) and its
/// SpecAugment view. `FrontEnd` is immutable and thread-safe, so one instance serves every worker.
public struct LogMelFeaturizer: ClipFeaturizer {
    public let frontEnd: FrontEnd

    public init(_ config: FrontEndConfig) throws { frontEnd = try FrontEnd(config) }
    public init(frontEnd: FrontEnd) { self.frontEnd = frontEnd }

    public var imageShape: (height: Int, width: Int) { frontEnd.imageShape }

    public func features(waveform: [Float], training: Bool, rng: inout Rng) -> (image: [Float], augmented: [Float]) {
        let image = frontEnd.image(waveform: waveform, training: training, rng: &rng)
        return (image, training ? frontEnd.specAugment(image, rng: &rng) : image)
    }
}
