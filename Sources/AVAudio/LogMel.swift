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
    public convenience init(_ c: FrontEndConfig) throws {
        self.init(stft: try STFT(nFFT: c.nFFT, winLength: c.winLength, hopLength: c.hopLength), filterbank: MelFilterbank(c))
    }

    /// Frames for a signal of `samples` samples.
    public func frames(samples: Int) -> Int { stft.frames(samples: samples) }

    /// Writes the log-mel of `x`, affinely mapped, into `out`: out[m·rowStride + t] =
    /// scale · dB(m, t) + shift for frames t < `frameLimit` (later frames are not computed beyond
    /// the block that holds them, nor written). Frames are processed in blocks of 32: their power
    /// is gathered bin-major, mapped to mel, converted to dB and stored as contiguous row pieces.
    /// `x` must not be empty (librosa rejects empty input too; `FrontEnd` pads first).
    public func compute(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutablePointer<Float>, rowStride: Int,
                        frameLimit: Int = .max, scale: Float = 1, shift: Float = 0) {
        let b = MelFilterbank.blockFrames, nBins = stft.nBins, nMels = self.nMels
        let total = min(frames(samples: x.count), frameLimit)
        if total <= 0 { return }
        let block = UnsafeMutablePointer<Float>.allocate(capacity: nBins * b)
        let mel = UnsafeMutablePointer<Float>.allocate(capacity: nMels * b)
        defer { block.deallocate(); mel.deallocate() }
        block.initialize(repeating: 0, count: nBins * b)
        func flush(_ t0: Int, _ n: Int) {
            filterbank.applyBlock(power: block, out: mel)
            Decibels.fromPower(mel, count: nMels * b)
            for m in 0..<nMels {
                let src = mel + m * b, dst = out + m * rowStride + t0
                for j in 0..<n { dst[j] = src[j] * scale + shift }
            }
        }
        // Power lands bin-major in the block directly (blocks hold an even number of frames, so
        // the STFT's frame pairs never straddle two blocks).
        stft.forEachFramePair(x, frameLimit: total, stride: b, place: { block + $0 % b }) { t, count in
            let last = t + count - 1, j = last % b
            if j == b - 1 || last == total - 1 { flush(last - j, j + 1) }
        }
    }

    /// The log-mel spectrogram [nMels, frames], row-major (librosa's layout), in dB.
    public func callAsFunction(_ x: [Float]) -> [Float] {
        let f = frames(samples: x.count)
        var out = [Float](repeating: 0, count: nMels * f)
        out.withUnsafeMutableBufferPointer { ob in
            x.withUnsafeBufferPointer { compute($0, into: ob.baseAddress!, rowStride: f) }
        }
        return out
    }
}
