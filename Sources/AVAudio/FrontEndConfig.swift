/// A configuration key that is missing, out of range or inconsistent with another key.
public struct FrontEndConfigError: Error, CustomStringConvertible, Equatable {
    public let key: String
    public let reason: String
    public var description: String { "front-end config key '\(key)': \(reason)" }
}

/// The mel scale of the filterbank (librosa's `htk=True/False`).
public enum MelScale: String, Sendable, Codable, CaseIterable { case htk, slaney }

/// Mel filter normalisation: `slaney` (unit area, librosa `norm="slaney"`) or `none`.
public enum MelNorm: String, Sendable, Codable, CaseIterable { case slaney, none }

/// Every setting of the audio front-end: waveform → fixed-length clip → log-mel → (fold) → image.
///
/// Decoding with missing keys falls back to the defaults of `init`, so a config file only needs the
/// keys it changes; unknown keys are rejected by name.
public struct FrontEndConfig: Codable, Sendable, Equatable {
    /// Sample rate the waveform is resampled to before the STFT (Hz).
    public var sampleRate: Int
    /// FFT size; the spectrogram has nFFT/2+1 bins before the mel filterbank.
    public var nFFT: Int
    /// Length of the periodic Hann window (≤ nFFT), zero-padded centred inside nFFT as librosa does.
    public var winLength: Int
    /// Hop between centred frames (samples).
    public var hopLength: Int
    /// Number of mel bands.
    public var nMels: Int
    /// Lowest and highest filterbank frequency (Hz).
    public var fmin: Float, fmax: Float
    /// Mel scale of the filterbank.
    public var melScale: MelScale
    /// Filter normalisation.
    public var melNorm: MelNorm
    /// Fixed input length in samples before the STFT (longer clips are cropped, shorter ones padded).
    public var clipSamples: Int
    /// How short clips are lengthened: silence at the end, or the clip tiled.
    public var pad: FixedLength.Pad
    /// HTSAT folding: the nMels × (k·imageWidth) spectrogram becomes k chunks of imageWidth frames
    /// stacked along the mel axis (k = imageHeight / nMels).
    public var fold: Bool
    /// Model input size after optional folding: rows (mel) × columns (time).
    public var imageHeight: Int, imageWidth: Int
    /// Normalisation of the dB values: (logmel − normMean) / normStd.
    public var normMean: Float, normStd: Float
    /// SpecAugment: number of frequency masks and their maximum width as a fraction of nMels.
    public var freqMasks: Int, freqMaxFraction: Float
    /// SpecAugment: number of time masks and their maximum width as a fraction of the frames.
    public var timeMasks: Int, timeMaxFraction: Float
    /// SpecAugment time warp: maximum shift of the warp point in frames (0 = off).
    public var timeWarp: Int

    /// All keys with defaults for 16 kHz, 64 mels, ~10 s clips folded into 256 × 256
    /// (1 + 163 680 / 160 = 1024 frames = 4 chunks of 256).
    public init(sampleRate: Int = 16000, nFFT: Int = 512, winLength: Int = 400, hopLength: Int = 160,
                nMels: Int = 64, fmin: Float = 50, fmax: Float = 8000, melScale: MelScale = .htk,
                melNorm: MelNorm = .none, clipSamples: Int = 163_680, pad: FixedLength.Pad = .repeat,
                fold: Bool = true, imageHeight: Int = 256, imageWidth: Int = 256,
                normMean: Float = -20, normStd: Float = 20,
                freqMasks: Int = 2, freqMaxFraction: Float = 0.15, timeMasks: Int = 2,
                timeMaxFraction: Float = 0.3, timeWarp: Int = 0) {
        self.sampleRate = sampleRate; self.nFFT = nFFT; self.winLength = winLength
        self.hopLength = hopLength; self.nMels = nMels; self.fmin = fmin; self.fmax = fmax
        self.melScale = melScale; self.melNorm = melNorm; self.clipSamples = clipSamples; self.pad = pad
        self.fold = fold; self.imageHeight = imageHeight; self.imageWidth = imageWidth
        self.normMean = normMean; self.normStd = normStd
        self.freqMasks = freqMasks; self.freqMaxFraction = freqMaxFraction
        self.timeMasks = timeMasks; self.timeMaxFraction = timeMaxFraction; self.timeWarp = timeWarp
    }

    /// 16 kHz, n_fft 512, win 400, hop 160, 64 HTK mels 50–8000 Hz, 1024 frames folded to 256 × 256,
    /// SpecAugment 2 × ≤15 % mel bins and 2 × ≤30 % frames.
    public static let default16k = FrontEndConfig()

    /// Frames the STFT yields for one clip (centred frames): 1 + clipSamples / hopLength.
    public var stftFrames: Int { 1 + clipSamples / hopLength }

    /// Frames the image holds: imageWidth, times imageHeight / nMels chunks when folding.
    public var imageFrames: Int { fold ? (imageHeight / max(1, nMels)) * imageWidth : imageWidth }

    /// Throws `FrontEndConfigError` naming the first inconsistent key.
    public func validate() throws {
        func fail(_ key: String, _ reason: String) throws { throw FrontEndConfigError(key: key, reason: reason) }
        if sampleRate <= 0 || sampleRate > 768_000 { try fail("sampleRate", "must be in 1...768000 Hz, got \(sampleRate)") }
        if nFFT < 2 || nFFT % 2 != 0 || nFFT > 65_536 { try fail("nFFT", "must be even and in 2...65536, got \(nFFT)") }
        if winLength < 1 || winLength > nFFT { try fail("winLength", "must be in 1...nFFT (\(nFFT)), got \(winLength)") }
        if hopLength < 1 || hopLength > winLength {
            try fail("hopLength", "must be in 1...winLength (\(winLength)) so that no sample is skipped, got \(hopLength)")
        }
        if nMels < 1 || nMels > nFFT / 2 + 1 {
            try fail("nMels", "must be in 1...\(nFFT / 2 + 1) (the n_fft/2+1 frequency bins of n_fft \(nFFT)), got \(nMels)")
        }
        if !(fmin >= 0) { try fail("fmin", "must be ≥ 0, got \(fmin)") }
        if !(fmax > fmin) || fmax > Float(sampleRate) / 2 {
            try fail("fmax", "must be in (fmin, sampleRate/2] = (\(fmin), \(sampleRate / 2)], got \(fmax)")
        }
        if clipSamples <= nFFT / 2 { try fail("clipSamples", "must exceed nFFT/2 (\(nFFT / 2)) for reflect padding, got \(clipSamples)") }
        if clipSamples > 600 * sampleRate { try fail("clipSamples", "must be at most 10 minutes (\(600 * sampleRate) samples), got \(clipSamples)") }
        if imageWidth < 1 || imageWidth > 8192 { try fail("imageWidth", "must be in 1...8192, got \(imageWidth)") }
        if imageHeight < 1 || imageHeight > 8192 { try fail("imageHeight", "must be in 1...8192, got \(imageHeight)") }
        if fold {
            if imageHeight < nMels || imageHeight % nMels != 0 {
                try fail("imageHeight", "with fold it must be a multiple of nMels (\(nMels)), got \(imageHeight)")
            }
        } else if imageHeight != nMels {
            try fail("imageHeight", "without fold it must equal nMels (\(nMels)), got \(imageHeight)")
        }
        if !(normStd > 0) || !normStd.isFinite { try fail("normStd", "must be positive, got \(normStd)") }
        if !normMean.isFinite { try fail("normMean", "must be finite, got \(normMean)") }
        if freqMasks < 0 || freqMasks > nMels { try fail("freqMasks", "must be in 0...n_mels (\(nMels)), got \(freqMasks)") }
        if timeMasks < 0 || timeMasks > imageFrames { try fail("timeMasks", "must be in 0...\(imageFrames) (the frames), got \(timeMasks)") }
        if !(0...1).contains(freqMaxFraction) { try fail("freqMaxFraction", "must be in [0, 1], got \(freqMaxFraction)") }
        if !(0...1).contains(timeMaxFraction) { try fail("timeMaxFraction", "must be in [0, 1], got \(timeMaxFraction)") }
        if timeWarp < 0 || (timeWarp > 0 && timeWarp >= imageFrames / 2 + imageFrames % 2) {
            try fail("timeWarp", "must be in 0..<\(imageFrames / 2) frames, got \(timeWarp)")
        }
    }

    private enum CodingKeys: String, CodingKey {
        case sampleRate, nFFT, winLength, hopLength, nMels, fmin, fmax, melScale, melNorm, clipSamples, pad
        case fold, imageHeight, imageWidth, normMean, normStd
        case freqMasks, freqMaxFraction, timeMasks, timeMaxFraction, timeWarp
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes the keys present; the others keep their `init` defaults. An unknown key (a typo)
    /// throws `FrontEndConfigError` naming it.
    public init(from decoder: Decoder) throws {
        for k in try decoder.container(keyedBy: AnyKey.self).allKeys where CodingKeys(stringValue: k.stringValue) == nil {
            throw FrontEndConfigError(key: k.stringValue, reason: "unknown key")
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var s = FrontEndConfig()
        func get<T: Decodable>(_ k: CodingKeys, _ v: inout T) throws {
            do {
                if let x = try c.decodeIfPresent(T.self, forKey: k) { v = x }
            } catch DecodingError.dataCorrupted where T.self is any CaseIterable.Type {
                throw FrontEndConfigError(key: k.stringValue, reason: "must be one of \(FrontEndConfig.choices(T.self))")
            }
        }
        try get(.sampleRate, &s.sampleRate); try get(.nFFT, &s.nFFT); try get(.winLength, &s.winLength)
        try get(.hopLength, &s.hopLength); try get(.nMels, &s.nMels); try get(.fmin, &s.fmin)
        try get(.fmax, &s.fmax); try get(.melScale, &s.melScale); try get(.melNorm, &s.melNorm)
        try get(.clipSamples, &s.clipSamples); try get(.pad, &s.pad); try get(.fold, &s.fold)
        try get(.imageHeight, &s.imageHeight); try get(.imageWidth, &s.imageWidth)
        try get(.normMean, &s.normMean); try get(.normStd, &s.normStd)
        try get(.freqMasks, &s.freqMasks); try get(.freqMaxFraction, &s.freqMaxFraction)
        try get(.timeMasks, &s.timeMasks); try get(.timeMaxFraction, &s.timeMaxFraction)
        try get(.timeWarp, &s.timeWarp)
        self = s
    }

    /// The raw values of a choice type, for error messages ("htk", "slaney").
    static func choices<T>(_ t: T.Type) -> String {
        guard let all = (t as? any CaseIterable.Type)?.allCases as? any Collection else { return "\(t)" }
        return all.map { "\"\(($0 as? any RawRepresentable)?.rawValue ?? $0)\"" }.joined(separator: ", ")
    }
}
