import AVTensor

/// Turns one clip's waveform into the model's input image and its SpecAugment view. Called from the
/// loader's worker threads concurrently, so implementations must be thread-safe.
public protocol ClipFeaturizer: Sendable {
    /// The image each clip becomes (height × width floats).
    var imageShape: (height: Int, width: Int) { get }
    /// `image` (training: random crop; evaluation: deterministic) and `augmented` (its SpecAugment
    /// view in training, a copy of `image` otherwise), each height × width values.
    func features(waveform: [Float], training: Bool, rng: inout Rng) -> (image: [Float], augmented: [Float])
}
