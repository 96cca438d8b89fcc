import AVTensor

/// The configured audio front-end: waveform at `config.sampleRate` → fixed-length clip → log-mel
/// (dB) → (x − normMean) / normStd → frames fitted to the image → optional HTSAT fold; plus
/// SpecAugment. Immutable after `init`; safe to call from several threads at once.
public final class FrontEnd: @unchecked Sendable {
    public let config: FrontEndConfig
    public let logMel: LogMel
    public let augment: SpecAugment
    /// Folded chunks (1 without folding).
    public let chunks: Int

    /// Throws `FrontEndConfigError` naming the inconsistent key.
    public init(_ config: FrontEndConfig) throws {
        try config.validate()
        self.config = config
        logMel = try LogMel(config)
        chunks = config.fold ? config.imageHeight / config.nMels : 1
        augment = SpecAugment(config, bins: config.nMels, frames: config.imageFrames)
    }

    /// Model input size (rows = mel, columns = time).
    public var imageShape: (height: Int, width: Int) { (config.imageHeight, config.imageWidth) }

    /// The normalised value of silence (−100 dB), used for frames past the end of the STFT.
    public var silence: Float { (-100 - config.normMean) / config.normStd }

    /// Normalised log-mel [nMels, imageFrames] of the waveform cropped/padded to `clipSamples`
    /// (random crop in training, centred otherwise). STFT frames beyond `imageFrames` are dropped;
    /// missing ones are filled with `silence`.
    public func spectrogram(waveform: [Float], training: Bool, rng: inout Rng) -> [Float] {
        let c = config
        let frames = c.imageFrames, nMels = c.nMels
        let inv = 1 / c.normStd, mean = c.normMean
        var out = [Float](repeating: silence, count: nMels * frames)
        func compute(_ x: UnsafeBufferPointer<Float>) {
            out.withUnsafeMutableBufferPointer { ob in
                logMel.compute(x, into: ob.baseAddress!, rowStride: frames, frameLimit: frames, scale: inv, shift: -mean * inv)
            }
        }
        if waveform.count >= c.clipSamples {           // crop in place
            let start = FixedLength.cropStart(count: waveform.count, length: c.clipSamples, training: training, rng: &rng)
            waveform.withUnsafeBufferPointer { compute(UnsafeBufferPointer(rebasing: $0[start..<(start + c.clipSamples)])) }
        } else {
            FixedLength.apply(waveform, length: c.clipSamples, pad: c.pad).withUnsafeBufferPointer(compute)
        }
        return out
    }

    /// Waveform at config.sampleRate → model input image [height·width], row-major (mel rows, time
    /// columns). training: random crop; else centred crop.
    public func image(waveform: [Float], training: Bool, rng: inout Rng) -> [Float] {
        let s = spectrogram(waveform: waveform, training: training, rng: &rng)
        return config.fold ? Fold.fold(s, nMels: config.nMels, width: config.imageWidth, chunks: chunks) : s
    }

    /// SpecAugment applied to a copy of an image produced by `image`: masks and warp act on mel bins
    /// and frames of the unfolded spectrogram (a frequency mask hides the same bins in every chunk).
    public func specAugment(_ image: [Float], rng: inout Rng) -> [Float] {
        let c = config
        var s = c.fold ? Fold.unfold(image, nMels: c.nMels, width: c.imageWidth, chunks: chunks) : image
        augment.apply(&s, bins: c.nMels, frames: c.imageFrames, rng: &rng)
        return c.fold ? Fold.fold(s, nMels: c.nMels, width: c.imageWidth, chunks: chunks) : s
    }
}

extension FrontEnd {
    /// Mean and standard deviation of the un-normalised log-mel (dB) over the image frames of the
    /// centred crops of `waveforms`: the values to put in `normMean` / `normStd`.
    public func logMelStatistics(_ waveforms: [[Float]]) -> (mean: Float, std: Float) {
        let scale = Double(config.normStd), shift = Double(config.normMean)
        var sum = 0.0, sumSq = 0.0, n = 0
        var rng = Rng(seed: 0)                            // evaluation crops draw nothing
        for w in waveforms {
            for v in spectrogram(waveform: w, training: false, rng: &rng) {
                let db = Double(v) * scale + shift        // undo the configured normalisation
                sum += db; sumSq += db * db; n += 1
            }
        }
        guard n > 0 else { return (0, 1) }
        let mean = sum / Double(n)
        return (Float(mean), Float(max(sumSq / Double(n) - mean * mean, 0).squareRoot()))
    }
}
