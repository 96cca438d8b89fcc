/// Decoding sound files into model-rate mono waveforms.
public enum AudioDecoder {
    /// Decode any libsndfile format, mix to mono, resample to `sampleRate`; with `maxSeconds`, only
    /// the file's first seconds (plus 150 ms, more than the resampler's filter reaches at any rate it
    /// accepts: 106 samples of the lower rate, ≤ 106 ms) are decoded.
    /// Throws AudioError naming the file.
    public static func load(_ path: String, sampleRate: Int, maxSeconds: Double? = nil) throws -> [Float] {
        guard sampleRate > 0 else { throw AudioError(file: path, reason: "requested sample rate \(sampleRate) is not positive") }
        let d = try AudioFile.read(path, maxSeconds: maxSeconds.map { $0 + 0.15 })
        do { return try Resampler.resample(d.mono(), from: d.sampleRate, to: sampleRate) } catch let e as ResamplerError {
            throw AudioError(file: path, reason: e.description)
        }
    }
}
