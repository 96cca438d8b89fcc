import Foundation
import CKernels

/// Band-limited sample-rate conversion by a rational factor L/M = to/from (reduced by their gcd):
/// a Kaiser-windowed sinc low-pass evaluated on a polyphase table (one row of taps per output
/// phase, each row normalised to unit DC gain), precomputed once per (from, to) pair and cached.
///
/// Design (relative to the lower of the two Nyquist frequencies fN): pass band to 0.86·fN, cut-off
/// 0.93·fN, stop band from fN with ≥ 72 dB attenuation (Kaiser β = 7.0). Edges are zero-padded.
/// Output length is ⌈n·to/from⌉. Thread-safe.
public enum Resampler {
    /// Resamples `x` from `from` Hz to `to` Hz (returns `x` itself when the rates are equal).
    public static func resample(_ x: [Float], from: Int, to: Int) -> [Float] {
        precondition(from > 0 && to > 0, "Resampler: rates must be positive (from \(from), to \(to))")
        if from == to || x.isEmpty { return x }
        return PolyphaseFilter.shared(from: from, to: to).apply(x)
    }

    /// Output length for `n` input samples: ⌈n·to/from⌉.
    public static func outputCount(_ n: Int, from: Int, to: Int) -> Int {
        from == to ? n : (n * to + from - 1) / from
    }
}

/// The polyphase table of one rate pair.
final class PolyphaseFilter: @unchecked Sendable {
    /// Up- and down-sampling factors (to/g, from/g).
    let up: Int, down: Int
    /// Input samples on each side of the output instant that the filter reaches.
    let half: Int
    /// Taps per phase (2·half rounded up to a multiple of 16; the extra taps are zero).
    /// Applied by `avk_polyphase` at the CPU's vector width.
    let taps: Int
    /// [up, taps]: row r holds the filter of output r (mod up), whose instant lies
    /// φ/up of an input sample past an input sample, φ = r·down mod up. Rows are stored in the
    /// order the outputs visit them, so the table streams sequentially.
    let table: [Float]

    static let attenuationDB = 72.0, passFraction = 0.86

    init(from: Int, to: Int) {
        let g = Self.gcd(from, to)
        up = to / g; down = from / g
        let ratio = min(1.0, Double(up) / Double(down))      // lower Nyquist / input Nyquist
        let stop = 0.5 * ratio, pass = Self.passFraction * stop       // cycles per input sample
        let fc = (stop + pass) / 2, width = stop - pass
        let beta = 0.1102 * (Self.attenuationDB - 8.7)
        let hw = (Self.attenuationDB - 7.95) / (2.285 * 2 * Double.pi * width) / 2   // half-length, input samples
        half = Int(hw.rounded(.up))
        taps = (2 * half + 15) / 16 * 16
        let up = self.up, down = self.down, half = self.half, taps = self.taps
        var t = [Float](repeating: 0, count: up * taps)
        let i0beta = Self.besselI0(beta)
        for r in 0..<up {
            let phase = r * down % up
            let frac = Double(phase) / Double(up)
            var row = [Double](repeating: 0, count: 2 * half)
            for k in 0..<(2 * half) {
                let tau = frac + Double(half - 1 - k)          // output instant − input sample position
                let u = tau / hw
                if abs(u) >= 1 { continue }
                let x = 2 * fc * tau
                let sinc = x == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x)
                row[k] = 2 * fc * sinc * Self.besselI0(beta * (1 - u * u).squareRoot()) / i0beta
            }
            let dc = row.reduce(0, +)
            for k in 0..<(2 * half) { t[r * taps + k] = Float(row[k] / dc) }
        }
        table = t
    }

    func apply(_ x: [Float]) -> [Float] {
        let outN = Resampler.outputCount(x.count, from: down, to: up)
        var y = [Float](repeating: 0, count: outN)
        var edge = [Float](repeating: 0, count: taps)
        x.withUnsafeBufferPointer { xb in
            table.withUnsafeBufferPointer { tb in
                y.withUnsafeMutableBufferPointer { yb in
                    edge.withUnsafeMutableBufferPointer { eb in
                        avk_polyphase(yb.baseAddress!, outN, xb.baseAddress!, x.count, tb.baseAddress!, taps, half, up, down, eb.baseAddress!)
                    }
                }
            }
        }
        return y
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [Int: PolyphaseFilter] = [:]

    /// The cached filter for a rate pair (built on first use).
    static func shared(from: Int, to: Int) -> PolyphaseFilter {
        let key = from << 32 | to
        lock.lock()
        if let f = cache[key] { lock.unlock(); return f }
        lock.unlock()
        let f = PolyphaseFilter(from: from, to: to)
        lock.lock(); defer { lock.unlock() }
        if let g = cache[key] { return g }
        cache[key] = f
        return f
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// Modified Bessel function of the first kind, order 0 (power series).
    static func besselI0(_ x: Double) -> Double {
        var sum = 1.0, term = 1.0, k = 1.0
        let q = x * x / 4
        while term > 1e-17 * sum {
            term *= q / (k * k)
            sum += term
            k += 1
        }
        return sum
    }
}
