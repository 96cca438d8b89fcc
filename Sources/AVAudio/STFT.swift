import CFFTW
import Foundation

/// Short-time Fourier transform as librosa.stft computes it: periodic Hann window of `winLength`
/// zero-padded centred inside `nFFT`, frames centred on t·hop (the signal reflect-padded by nFFT/2
/// on each side), one-sided FFT through FFTW single precision.
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
        guard let plan = FFTPlan.shared(nFFT, .realToComplex) else {
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
        let n = x.count
        precondition(n > 0, "STFT of an empty signal")
        let half = nFFT / 2, wOff = (nFFT - winLength) / 2
        let inp = fftwf_alloc_real(nFFT)!, out = fftwf_alloc_complex(nBins)!
        let power = UnsafeMutablePointer<Float>.allocate(capacity: nBins)
        let edge = UnsafeMutablePointer<Float>.allocate(capacity: winLength)
        defer { fftwf_free(inp); fftwf_free(out); power.deallocate(); edge.deallocate() }
        inp.initialize(repeating: 0, count: nFFT)
        let cplx = UnsafeMutableRawPointer(out).assumingMemoryBound(to: Float.self)
        window.withUnsafeBufferPointer { wb in
            let w = wb.baseAddress!
            for t in 0..<min(frames(samples: n), frameLimit) {
                // Window span in signal coordinates; frames reaching past either end read the
                // signal reflected at its ends (numpy "reflect": x[2] x[1] | x[0] … x[n-1] | x[n-2]).
                let lo = t * hopLength - half + wOff
                var src = x.baseAddress! + max(0, lo)
                if lo < 0 || lo + winLength > n {
                    for j in 0..<winLength { edge[j] = x[Self.reflect(lo + j, n)] }
                    src = UnsafePointer(edge)
                }
                let dst = inp + wOff
                var j = 0
                while j + 16 <= winLength {
                    let a = UnsafeRawPointer(src + j).loadUnaligned(as: SIMD16<Float>.self)
                    let b = UnsafeRawPointer(w + j).loadUnaligned(as: SIMD16<Float>.self)
                    UnsafeMutableRawPointer(dst + j).storeBytes(of: a * b, as: SIMD16<Float>.self)
                    j += 16
                }
                while j < winLength { dst[j] = src[j] * w[j]; j += 1 }
                fftwf_execute_dft_r2c(plan.plan, inp, out)
                var k = 0
                while k + 8 <= nBins {
                    let v = UnsafeRawPointer(cplx + 2 * k).loadUnaligned(as: SIMD16<Float>.self)
                    let sq = v * v
                    let p = sq.evenHalf + sq.oddHalf
                    UnsafeMutableRawPointer(power + k).storeBytes(of: p, as: SIMD8<Float>.self)
                    k += 8
                }
                while k < nBins { power[k] = cplx[2 * k] * cplx[2 * k] + cplx[2 * k + 1] * cplx[2 * k + 1]; k += 1 }
                body(t, power)
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
