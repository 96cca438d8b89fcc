import CFFTW
import Foundation

/// Band-limited sample-rate conversion by a rational factor L/M = to/from (reduced by their gcd),
/// done in the frequency domain (`DFTResampler`): per block of input, one real FFT at the input
/// rate, a zero-phase low-pass applied bin by bin, one inverse real FFT at the output rate.
///
/// Filter (relative to the lower of the two Nyquist frequencies fN): pass band to 0.913·fN (soxr
/// HQ's), stop band from fN, Kaiser-windowed sinc designed for 140 dB. Output sample j sits at
/// input time j·M/L; the signal is zero outside its ends. Output length is ⌈n·to/from⌉.
/// Thread-safe; the filter of each rate pair is built on first use and cached.
public enum Resampler {
    /// Sample rates the resampler accepts (Hz).
    public static let rates = 1000...768_000

    /// Resamples `x` from `from` Hz to `to` Hz (returns `x` itself when the rates are equal).
    /// Throws `ResamplerError` for a rate outside `rates` or a transform FFTW cannot plan.
    public static func resample(_ x: [Float], from: Int, to: Int) throws -> [Float] {
        if from == to || x.isEmpty { return x }
        return try DFTResampler.shared(from: from, to: to).apply(x)
    }

    /// The low-pass of a rate pair at the input rate: taps h[0…half] of the zero-phase filter
    /// (h[−n] = h[n], Σ h = 1), which the transform applies; for inspection and tests.
    public static func filterTaps(from: Int, to: Int) throws -> [Double] {
        try DFTResampler.shared(from: from, to: to).filter.taps
    }

    /// Output length for `n` input samples: ⌈n·to/from⌉.
    public static func outputCount(_ n: Int, from: Int, to: Int) -> Int {
        from == to ? n : (n * to + from - 1) / from
    }
}

/// A rate pair the resampler cannot convert, and why.
public struct ResamplerError: Error, CustomStringConvertible, Sendable {
    public let from: Int, to: Int, reason: String
    public var description: String { "cannot resample \(from) Hz → \(to) Hz: \(reason)" }
}

/// The overlap-save resampler of one rate pair. The input is cut into blocks of `blockIn` = M·k
/// samples that overlap by 2·`margin`; each block's spectrum, times the filter's, is read back at
/// the output rate by an inverse FFT of `blockOut` = L·k points (band-limited interpolation), of
/// which the middle `hopOut` outputs are exact (the filter's reach stays inside the block).
/// `margin` is a multiple of M so block edges fall on both sample grids.
final class DFTResampler: @unchecked Sendable {
    let up: Int, down: Int
    let filter: ResamplerFilter
    let margin: Int, blockIn: Int, blockOut: Int, hopIn: Int, hopOut: Int
    /// Complex bins multiplied by the filter: min(blockIn, blockOut)/2 + 1 (the rest are zero).
    let bins: Int
    /// The filter's (real, zero-phase) response at those bins divided by blockIn, each value
    /// twice (it scales a bin's real and imaginary part).
    let response: [Float]
    let forward: FFTPlan, inverse: FFTPlan

    init(from: Int, to: Int) throws {
        guard Resampler.rates.contains(from), Resampler.rates.contains(to) else {
            throw ResamplerError(from: from, to: to, reason: "rates must lie in \(Resampler.rates.lowerBound)–\(Resampler.rates.upperBound) Hz")
        }
        let g = Self.gcd(from, to)
        up = to / g; down = from / g
        filter = ResamplerFilter(stop: 0.5 * min(1, Double(up) / Double(down)))
        margin = (filter.half + 2 + down - 1) / down * down
        // Blocks of M·k inputs, k a power of two: the useful span ≥ 30 margins (≤ 6 % of each
        // transform overlaps the next) unless blocks already hold 64 Ki inputs (rate pairs with a
        // large M), and never less than one margin.
        var k = 2
        while down * k - 2 * margin < margin || (down * k - 2 * margin < 30 * margin && down * k < 65536) { k *= 2 }
        blockIn = down * k; blockOut = up * k
        hopIn = blockIn - 2 * margin; hopOut = hopIn / down * up
        bins = min(blockIn, blockOut) / 2 + 1
        let r = filter.response(bins: bins, period: blockIn)
        let scale = 1 / Double(down * k)
        response = r.flatMap { [Float($0 * scale), Float($0 * scale)] }
        guard let f = FFTPlan.shared(blockIn, .realToComplex), let i = FFTPlan.shared(blockOut, .complexToReal) else {
            throw ResamplerError(from: from, to: to, reason: "FFTW could not plan \(blockIn)- and \(blockOut)-point transforms")
        }
        forward = f; inverse = i
    }

    func apply(_ x: [Float]) -> [Float] {
        let n = x.count, outN = Resampler.outputCount(n, from: down, to: up)
        let specIn = blockIn / 2 + 1, specOut = blockOut / 2 + 1
        let input = FFTBuffer(floats: blockIn), spec = FFTBuffer(floats: 2 * specIn)
        let ospec = FFTBuffer(floats: 2 * specOut), output = FFTBuffer(floats: blockOut)
        defer { input.deallocate(); spec.deallocate(); ospec.deallocate(); output.deallocate() }
        let inp = input.floats, s = spec.floats, o = ospec.floats, out = output.floats
        let marginOut = margin / down * up
        var y = [Float](repeating: 0, count: outN)
        x.withUnsafeBufferPointer { xb in
            response.withUnsafeBufferPointer { rb in
                y.withUnsafeMutableBufferPointer { yb in
                    var done = 0, start = -margin          // outputs written; input index of inp[0]
                    while done < outN {
                        // The block's input, zeros beyond the signal's ends.
                        let lo = max(0, start), hi = min(n, start + blockIn)
                        if hi > lo {
                            (inp).update(repeating: 0, count: lo - start)
                            (inp + (lo - start)).update(from: xb.baseAddress! + lo, count: hi - lo)
                            (inp + (hi - start)).update(repeating: 0, count: blockIn - (hi - start))
                        } else {
                            inp.update(repeating: 0, count: blockIn)
                        }
                        fftwf_execute_dft_r2c(forward.plan, inp, spec.complex)
                        Self.multiply(o, s, rb.baseAddress!, 2 * bins)
                        (o + 2 * bins).update(repeating: 0, count: 2 * (specOut - bins))
                        fftwf_execute_dft_c2r(inverse.plan, ospec.complex, out)
                        let count = min(hopOut, outN - done)
                        (yb.baseAddress! + done).update(from: out + marginOut, count: count)
                        done += count; start += hopIn
                    }
                }
            }
        }
        return y
    }

    /// out[i] = a[i]·b[i] for i < n.
    @inline(__always)
    static func multiply(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) {
        typealias V = SIMD16<Float>
        var i = 0
        while i + 16 <= n {
            let v = UnsafeRawPointer(a + i).loadUnaligned(as: V.self) * UnsafeRawPointer(b + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(out + i).storeBytes(of: v, as: V.self)
            i += 16
        }
        while i < n { out[i] = a[i] * b[i]; i += 1 }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [Int: DFTResampler] = [:]

    /// The cached resampler of a rate pair (built on first use).
    static func shared(from: Int, to: Int) throws -> DFTResampler {
        let key = from << 32 | to
        lock.lock()
        if let f = cache[key] { lock.unlock(); return f }
        lock.unlock()
        let f = try DFTResampler(from: from, to: to)
        lock.lock(); defer { lock.unlock() }
        if let g = cache[key] { return g }
        cache[key] = f
        return f
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
}
