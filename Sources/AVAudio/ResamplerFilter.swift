import Foundation

/// The resampler's zero-phase low-pass at the input rate: a Kaiser-windowed sinc h[n], |n| ≤ half,
/// with unit DC gain. Frequencies in cycles per input sample: the stop band starts at `stop` (the
/// lower Nyquist), the pass band ends at `passFraction`·stop, and the window is designed for
/// `attenuationDB` (Kaiser's formulas for β and length).
struct ResamplerFilter: Sendable {
    static let passFraction = 0.913, attenuationDB = 140.0

    let stop: Double
    /// Taps on each side of the centre tap.
    let half: Int
    /// h[0…half] (h[−n] = h[n]), in double precision.
    let taps: [Double]

    init(stop: Double) {
        self.stop = stop
        let pass = Self.passFraction * stop, fc = (stop + pass) / 2, width = stop - pass
        let a = Self.attenuationDB, beta = 0.1102 * (a - 8.7)
        let hw = ((a - 7.95) / (2.285 * 2 * Double.pi * width) / 2).rounded(.up)
        half = Int(hw)
        let i0beta = Self.besselI0(beta)
        var h = (0...half).map { n -> Double in
            let u = Double(n) / hw, x = 2 * fc * Double(n)
            let sinc = n == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x)
            return 2 * fc * sinc * Self.besselI0(beta * max(0, 1 - u * u).squareRoot()) / i0beta
        }
        let dc = h[0] + 2 * h.dropFirst().reduce(0, +)
        for n in h.indices { h[n] /= dc }
        taps = h
    }

    /// H[k] = h[0] + 2·Σ h[n]·cos(2πkn/period) for k < bins: the DFT of h laid out circularly on
    /// `period` points, real because h is symmetric (cos(nθ) by the Chebyshev recurrence).
    func response(bins: Int, period: Int) -> [Double] {
        (0..<bins).map { k in
            let c1 = cos(2 * Double.pi * Double(k) / Double(period))
            var prev = 1.0, cur = c1, sum = taps[0]
            for n in 1..<taps.count {
                sum += 2 * taps[n] * cur
                (prev, cur) = (cur, 2 * c1 * cur - prev)
            }
            return sum
        }
    }

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
