/// Log-mel spectrogram as librosa computes
/// `power_to_db(melspectrogram(y, power=2, center=True, pad_mode="reflect"), ref=1, amin=1e-10, top_db=None)`:
/// STFT power → mel filterbank → 10·log10(max(p, 1e-10)). Thread-safe (immutable).
public final class LogMel: @unchecked Sendable {
    public let stft: STFT
    public let filterbank: MelFilterbank
    public var nMels: Int { filterbank.nMels }

    public init(stft: STFT, filterbank: MelFilterbank) {
        precondition(stft.nBins == filterbank.nBins, "LogMel: STFT has \(stft.nBins) bins, filterbank \(filterbank.nBins)")
        self.stft = stft; self.filterbank = filterbank
    }

    /// STFT and filterbank as configured.
    public convenience init(_ c: FrontEndConfig) {
        self.init(stft: STFT(nFFT: c.nFFT, winLength: c.winLength, hopLength: c.hopLength), filterbank: MelFilterbank(c))
    }

    /// Frames for a signal of `samples` samples.
    public func frames(samples: Int) -> Int { stft.frames(samples: samples) }

    /// Calls `body(t, dB)` for each frame t with its nMels log-mel values (buffer reused between calls).
    public func forEachFrame(_ x: UnsafeBufferPointer<Float>, _ body: (Int, UnsafePointer<Float>) -> Void) {
        let mel = UnsafeMutablePointer<Float>.allocate(capacity: nMels)
        defer { mel.deallocate() }
        stft.forEachPowerFrame(x) { t, power in
            filterbank.apply(power: power, out: mel, outStride: 1)
            Decibels.fromPower(mel, count: nMels)
            body(t, mel)
        }
    }

    /// The log-mel spectrogram [nMels, frames], row-major (librosa's layout), in dB.
    public func callAsFunction(_ x: [Float]) -> [Float] {
        let f = frames(samples: x.count)
        var out = [Float](repeating: 0, count: nMels * f)
        out.withUnsafeMutableBufferPointer { ob in
            x.withUnsafeBufferPointer { xb in
                forEachFrame(xb) { t, db in
                    for m in 0..<nMels { ob[m * f + t] = db[m] }
                }
            }
        }
        return out
    }
}
