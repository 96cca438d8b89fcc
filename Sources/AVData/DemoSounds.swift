import Foundation
import AVTensor

/// The built-in demo's sound classes: synthesised on the spot, each with one continuous parameter
/// `u` ∈ [0, 1) (pitch, rate, band…) that also moves the clip's embeddings, so that both the class
/// and the within-class position are learnable from the audio.
public enum DemoSounds {
    /// Base class names (`_` reads as a space in prompts). More classes reuse these an octave up.
    public static let baseNames = ["harmonic_tone", "rising_chirp", "noise_band", "clicks",
                                   "tremolo_tone", "siren", "drum_beat", "rain_drops"]

    /// The name of class `c`.
    public static func name(_ c: Int) -> String {
        let base = baseNames[c % baseNames.count]
        return c < baseNames.count ? base : "\(base)_\(c / baseNames.count + 1)"
    }

    /// `n` samples at `rate` Hz of class `c` with parameter `u`, peak-normalised to `gain`.
    public static func synthesize(_ c: Int, u: Float, gain: Float, samples n: Int, rate: Int, rng: inout Rng) -> [Float] {
        let sr = Float(rate)
        let shift = Float(1 << min(3, c / baseNames.count))   // octave shift for classes beyond the base set
        let twoPi: Float = 2 * .pi
        var x = [Float](repeating: 0, count: n)
        switch c % baseNames.count {
        case 0: // harmonic tone with vibrato
            let f0 = 110 * powf(2, u * 2.5) * shift
            var phase = [Float](repeating: 0, count: 6).map { _ in rng.uniform() * twoPi }
            for i in 0..<n {
                let t = Float(i) / sr
                let f = f0 * (1 + 0.005 * sinf(twoPi * 5 * t))
                var s: Float = 0
                for h in 0..<6 {
                    phase[h] += twoPi * f * Float(h + 1) / sr
                    if phase[h] > twoPi { phase[h] -= twoPi }
                    s += sinf(phase[h]) / powf(Float(h + 1), 1.2)
                }
                x[i] = s * min(1, t / 0.05)
            }
        case 1: // rising exponential chirps, one per period
            let f1 = 200 * powf(2, u * 2) * shift, period = 0.5 + u
            var phase: Float = 0
            for i in 0..<n {
                let t = Float(i) / sr
                let tau = t.truncatingRemainder(dividingBy: period) / period
                phase += twoPi * f1 * powf(4, tau) / sr
                if phase > twoPi { phase -= twoPi }
                x[i] = sinf(phase) * sinf(.pi * tau)
            }
        case 2: // band of noise: white noise through a resonator
            let fc = min(0.4 * sr, 400 * powf(2, u * 3) * shift), q: Float = 6
            let w0 = twoPi * fc / sr, alpha = sinf(w0) / (2 * q)
            let a0 = 1 + alpha, b0 = alpha / a0, a1 = -2 * cosf(w0) / a0, a2 = (1 - alpha) / a0
            var x1: Float = 0, x2: Float = 0, y1: Float = 0, y2: Float = 0
            for i in 0..<n {
                let w = rng.normal()
                let y = b0 * w - b0 * x2 - a1 * y1 - a2 * y2
                x2 = x1; x1 = w; y2 = y1; y1 = y
                x[i] = y
            }
        case 3: // click train
            let rateHz = (2 + 6 * u) * shift
            var next: Float = 0
            var i = 0
            while i < n {
                let start = Int(next * sr)
                if start >= n { break }
                for j in 0..<min(Int(0.01 * sr), n - start) { x[start + j] += rng.normal() * expf(-Float(j) / (0.002 * sr)) }
                next += (1 / rateHz) * (0.9 + 0.2 * rng.uniform())
                i = start + 1
            }
        case 4: // tremolo (amplitude-modulated) tone
            let fc = 300 * powf(2, u * 1.5) * shift, fm = 4 + 8 * u
            let p0 = rng.uniform() * twoPi
            for i in 0..<n {
                let t = Float(i) / sr
                x[i] = sinf(twoPi * fc * t + p0) * (1 - 0.9 * (0.5 + 0.5 * sinf(twoPi * fm * t)))
            }
        case 5: // siren (slow frequency modulation)
            let fc = (600 + 600 * u) * shift, fm = 0.5 + 1.5 * u
            var phase: Float = 0
            for i in 0..<n {
                let t = Float(i) / sr
                phase += twoPi * fc * (1 + 0.3 * sinf(twoPi * fm * t)) / sr
                if phase > twoPi { phase -= twoPi }
                x[i] = sinf(phase)
            }
        case 6: // drum beat: pitch-dropping kicks and off-beat hats
            let beat = 60 / (80 + 80 * u)
            var t0: Float = 0
            while Int(t0 * sr) < n {
                let s0 = Int(t0 * sr)
                var phase: Float = 0
                for j in 0..<min(Int(0.3 * sr), n - s0) {
                    let tt = Float(j) / sr
                    phase += twoPi * (50 + 100 * expf(-tt / 0.03)) * shift / sr
                    x[s0 + j] += sinf(phase) * expf(-tt / 0.12)
                }
                let h0 = Int((t0 + beat / 2) * sr)
                if h0 < n { for j in 0..<min(Int(0.04 * sr), n - h0) { x[h0 + j] += 0.3 * rng.normal() * expf(-Float(j) / (0.01 * sr)) } }
                t0 += beat
            }
        default: // rain drops: short decaying high sines at random times
            let drops = Int((20 + 60 * u) * Float(n) / sr)
            for _ in 0..<drops {
                let s0 = rng.below(n), f = min(0.45 * sr, (1000 + 4000 * rng.uniform()) * shift), amp = 0.3 + 0.7 * rng.uniform()
                for j in 0..<min(Int(0.015 * sr), n - s0) {
                    let tt = Float(j) / sr
                    x[s0 + j] += amp * sinf(twoPi * f * tt) * expf(-tt / 0.004)
                }
            }
        }
        var peak: Float = 1e-9
        for v in x { peak = max(peak, abs(v)) }
        let g = gain / peak
        for i in 0..<n { x[i] = x[i] * g + 0.002 * rng.normal() }
        return x
    }
}
