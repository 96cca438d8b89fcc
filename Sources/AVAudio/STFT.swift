import CFFTW
import CKernels
import Foundation

/// Short-time Fourier transform as librosa.stft computes it: periodic Hann window of `winLength`
/// zero-padded centred inside `nFFT`, frames centred on t·hop (the signal reflect-padded by nFFT/2
/// on each side), one-sided FFT through FFTW single precision. Frames go through the FFT in pairs,
/// t as the real and t+1 as the imaginary part of one complex transform, whose two real spectra
/// are separated by symmetry (`avk_two_real_power`): one complex FFT costs ~⅓ of two real ones here.
///
/// An `STFT` is immutable after `init` and may be used from several threads at once: each call
/// works in its own buffers; only plan creation (not thread-safe in FFTW) takes a global lock.
public final class STFT: @unchecked Sendable {
    public let nFFT: Int, winLength: Int, hopLength: Int
    /// nFFT/2 + 1 bins.
    public var nBins: Int { nFFT / 2 + 1 }
    /// The periodic Hann window of `winLength` samples (before centring inside nFFT).
    public let window: [Float]
    let plan: FFTPlan

    /// Throws `FrontEndConfigError` (key nFFT) when FFTW cannot allocate or plan the transform.
    public init(nFFT: Int, winLength: Int, hopLength: Int) throws {
        precondition(nFFT >= 2 && nFFT % 2 == 0 && (1...nFFT).contains(winLength) && hopLength > 0,
                     "STFT: bad sizes nFFT \(nFFT), winLength \(winLength), hop \(hopLength)")
        self.nFFT = nFFT; self.winLength = winLength; self.hopLength = hopLength
        window = (0..<winLength).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(winLength))) }
        guard let plan = FFTPlan.shared(nFFT, .complexForward) else {
            throw FrontEndConfigError(key: "nFFT", reason: "FFTW could not allocate or plan a \(nFFT)-point transform")
        }
        self.plan = plan
    }

    /// Frames for a signal of `samples` samples: 1 + samples / hop.
    public func frames(samples: Int) -> Int { 1 + samples / hopLength }

    /// Calls `body(t, power)` for each frame t < min(frames, frameLimit) in order with its nBins
    /// power values |X|². The power buffer is reused between calls.
    public func forEachPowerFrame(_ x: UnsafeBufferPointer<Float>, frameLimit: Int = .max,
                                  _ body: (Int, UnsafePointer<Float>) -> Void) {
        let power = UnsafeMutablePointer<Float>.allocate(capacity: 2 * nBins)
        defer { power.deallocate() }
        forEachFramePair(x, frameLimit: frameLimit, stride: 1, place: { power + ($0 & 1) * nBins }) { t, count in
            for i in 0..<count { body(t + i, power + i * nBins) }
        }
    }

    /// The engine under the public calls: frames t, t+1 (t even) go through one complex FFT; frame
    /// t's power lands at place(t)[k·stride], k < nBins (likewise t+1, when it is below the limit);
    /// then `done(t, count)` runs with count 2, or 1 for a last odd frame.
    func forEachFramePair(_ x: UnsafeBufferPointer<Float>, frameLimit: Int, stride: Int,
                          place: (Int) -> UnsafeMutablePointer<Float>, _ done: (Int, Int) -> Void) {
        let n = x.count
        precondition(n > 0, "STFT of an empty signal")
        let half = nFFT / 2, wOff = (nFFT - winLength) / 2
        let inp = FFTBuffer(floats: 2 * nFFT), out = FFTBuffer(floats: 2 * nFFT)
        let edges = UnsafeMutablePointer<Float>.allocate(capacity: 2 * winLength)
        let spare = UnsafeMutablePointer<Float>.allocate(capacity: nBins * stride)
        defer { inp.deallocate(); out.deallocate(); edges.deallocate(); spare.deallocate() }
        let z = inp.floats
        z.initialize(repeating: 0, count: 2 * nFFT)
        let spectrum = UnsafePointer(out.floats)
        let total = min(frames(samples: n), frameLimit)
        window.withUnsafeBufferPointer { wb in
            /// Frame t's window span; frames reaching past either end read the signal reflected at
            /// its ends (numpy "reflect": x[2] x[1] | x[0] … x[n-1] | x[n-2]), copied to `edge`.
            func frame(_ t: Int, edge: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
                let lo = t * hopLength - half + wOff
                if lo >= 0 && lo + winLength <= n { return x.baseAddress! + lo }
                for j in 0..<winLength { edge[j] = x[Self.reflect(lo + j, n)] }
                return UnsafePointer(edge)
            }
            var t = 0
            while t < total {
                let partner = t + 1 < total ? frame(t + 1, edge: edges + winLength) : nil   // a last odd frame pairs with zeros
                avk_window_pair(z + 2 * wOff, frame(t, edge: edges), partner, wb.baseAddress!, winLength)
                fftwf_execute_dft(plan.plan, inp.complex, out.complex)
                avk_two_real_power(spectrum, place(t), t + 1 < total ? place(t + 1) : spare, nFFT, stride)
                done(t, min(2, total - t))
                t += 2
            }
        }
    }

    /// The power spectrogram [frames, nBins], row-major (frame-major).
    public func power(_ x: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: frames(samples: x.count) * nBins)
        out.withUnsafeMutableBufferPointer { ob in
            x.withUnsafeBufferPointer { xb in
                forEachPowerFrame(xb) { t, p in (ob.baseAddress! + t * nBins).update(from: p, count: nBins) }
            }
        }
        return out
    }

    /// numpy "reflect" index for position i (may lie outside 0..<n) of an n-sample signal.
    static func reflect(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        let period = 2 * (n - 1)
        var k = i % period
        if k < 0 { k += period }
        return k < n ? k : period - k
    }
}
