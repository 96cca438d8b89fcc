import Foundation
import XCTest
import AVAudio
import AVTensor
import TestSupport

/// Band-limited resampling: tones keep frequency and level; content above the new Nyquist is removed.
final class ResamplerTests: XCTestCase {
    static let sourceRates = [8000, 22050, 44100, 48000, 96000]
    static let targetRates = [16000, 32000, 48000]

    func tone(_ hz: Double, rate: Int, seconds: Double = 0.5, amp: Double = 0.5) -> [Float] {
        TestSupport.tone(count: Int(Double(rate) * seconds), rate: rate, hz: hz, amp: amp, phase: 0.3)
    }

    /// Least-squares fit of a·cos + b·sin at `hz` over y[lo..<hi]: (amplitude, residual rms).
    func fit(_ y: [Float], hz: Double, rate: Int, _ lo: Int, _ hi: Int) -> (amp: Double, residual: Double) {
        var cc = 0.0, ss = 0.0, cs = 0.0, yc = 0.0, ys = 0.0
        for n in lo..<hi {
            let w = 2 * Double.pi * hz * Double(n) / Double(rate)
            let c = cos(w), s = sin(w), v = Double(y[n])
            cc += c * c; ss += s * s; cs += c * s; yc += v * c; ys += v * s
        }
        let det = cc * ss - cs * cs
        let a = (yc * ss - ys * cs) / det, b = (ys * cc - yc * cs) / det
        var r = 0.0
        for n in lo..<hi {
            let w = 2 * Double.pi * hz * Double(n) / Double(rate)
            let e = Double(y[n]) - a * cos(w) - b * sin(w)
            r += e * e
        }
        return ((a * a + b * b).squareRoot(), (r / Double(hi - lo)).squareRoot())
    }

    func rms(_ y: [Float], _ lo: Int, _ hi: Int) -> Double {
        (y[lo..<hi].reduce(0.0) { $0 + Double($1) * Double($1) } / Double(hi - lo)).squareRoot()
    }

    func testLengthAndIdentity() throws {
        let x = TestSupport.randn(44100, seed: 1)
        XCTAssertEqual(try Resampler.resample(x, from: 44100, to: 44100), x)
        XCTAssertEqual(try Resampler.resample(x, from: 44100, to: 16000).count, 16000)
        XCTAssertEqual(try Resampler.resample(Array(x[0..<1001]), from: 44100, to: 16000).count, 364) // ⌈1001·160/441⌉
        XCTAssertEqual(try Resampler.resample(Array(x[0..<1000]), from: 8000, to: 48000).count, 6000)
        XCTAssertEqual(try Resampler.resample([], from: 8000, to: 16000), [])
        XCTAssertEqual(try Resampler.resample([0.5], from: 44100, to: 16000).count, 1)
    }

    /// Rates outside 1 kHz–768 kHz are refused with an error naming both rates, not a trap or a
    /// giant allocation (a hostile header can claim any rate).
    func testRatesOutsideTheRangeThrow() {
        for (from, to) in [(999, 16000), (44100, 0), (-8000, 16000), (768_001, 16000), (Int(Int32.max), 16000), (16000, 1 << 40)] {
            XCTAssertThrowsError(try Resampler.resample([0, 1, 0], from: from, to: to)) { e in
                XCTAssert("\(e)".contains("\(from) Hz → \(to) Hz"), "\(e)")
            }
        }
        // An unusual but legal pair (large reduced factors) still resamples.
        XCTAssertEqual(try Resampler.resample([Float](repeating: 0.25, count: 1000), from: 44_101, to: 16_000).count, 363)
    }

    /// Tones at 1 kHz and at 0.9 × the lower Nyquist (inside the 0.913 pass band) keep their
    /// frequency (residual of a fit at the exact frequency < −110 dB) and level (±0.001 dB) for
    /// every source/target pair.
    func testTonesKeepFrequencyAndLevel() throws {
        for from in Self.sourceRates {
            for to in Self.targetRates where to != from {
                let nyq = Double(min(from, to)) / 2
                for hz in [1000.0, 0.9 * nyq] {
                    let y = try Resampler.resample(tone(hz, rate: from), from: from, to: to)
                    let edge = to / 20                      // skip 50 ms at each end (filter start-up)
                    let (amp, res) = fit(y, hz: hz, rate: to, edge, y.count - edge)
                    let db = 20 * log10(amp / 0.5)
                    XCTAssertEqual(db, 0, accuracy: 0.001, "\(from)→\(to) Hz, tone \(hz) Hz: level \(db) dB")
                    XCTAssertLessThan(20 * log10(res / 0.5), -110, "\(from)→\(to), tone \(hz) Hz: residual \(res)")
                }
            }
        }
    }

    /// Tones above the new Nyquist (at it, just above, halfway, near the old Nyquist) come out at
    /// least 120 dB down (design: 140 dB; float rounding sets the floor).
    func testContentAboveNewNyquistIsAttenuated120dB() throws {
        for from in Self.sourceRates {
            for to in Self.targetRates where to < from {
                let newNyq = Double(to) / 2, oldNyq = Double(from) / 2
                for hz in [newNyq, newNyq * 1.005, newNyq * 1.05, (newNyq + oldNyq) / 2, oldNyq * 0.98] {
                    let y = try Resampler.resample(tone(hz, rate: from), from: from, to: to)
                    let edge = to / 20
                    let level = 20 * log10(rms(y, edge, y.count - edge) * 2.0.squareRoot() / 0.5)
                    XCTAssertLessThan(level, -120, "\(from)→\(to) Hz, tone \(hz) Hz: \(level) dB")
                }
            }
        }
    }

    /// Edge outputs (filter reaching past the signal, treated as zeros) equal the interior path run
    /// on the signal surrounded by explicit zeros; also for signals shorter than the filter. (Not
    /// bit for bit: the two runs cut their FFT blocks at different places.)
    func testEdgesMatchExplicitZeroPadding() throws {
        for (from, to) in [(44100, 16000), (8000, 48000), (22050, 32000)] {
            let g = [from, to].reduce(0) { a, b in var (a, b) = (a, b); while b != 0 { (a, b) = (b, a % b) }; return a }
            let k = 3 * (from / g) * ((2000 + from / g - 1) / (from / g))      // multiple of from/g, ≥ 2000
            for n in [37, 5000] {
                let x = TestSupport.randn(n, seed: UInt64(n))
                let zeros = [Float](repeating: 0, count: k)
                let y = try Resampler.resample(x, from: from, to: to)
                let yp = try Resampler.resample(zeros + x + zeros, from: from, to: to)
                let shift = k / (from / g) * (to / g)
                for o in 0..<y.count { XCTAssertEqual(y[o], yp[shift + o], accuracy: 1e-6, "\(from)→\(to), n \(n), output \(o)") }
            }
        }
    }

    /// White noise keeps its in-band power when downsampling by 2.
    func testNoisePowerInBand() throws {
        let x = TestSupport.randn(96000, seed: 9, std: 0.1)
        let y = try Resampler.resample(x, from: 32000, to: 16000)
        // White noise: the output keeps the lower half of the band up to the filter's half-power
        // point, midway through the transition (0.9565 × new Nyquist), so its power is
        // ≈ 0.5 × 0.9565 of the input's.
        let ratio = pow(rms(y, 800, y.count - 800), 2) / pow(rms(x, 0, x.count), 2)
        XCTAssertEqual(ratio, 0.478, accuracy: 0.01)
    }

    /// The overlap-save blocks are seamless: a long signal resampled whole equals, sample for
    /// sample, a direct (double-precision) evaluation of the same filter at each output instant.
    func testBlocksMatchDirectConvolution() throws {
        for (from, to) in [(44100, 16000), (8000, 48000), (48000, 16000)] {
            let x = TestSupport.randn(2 * from, seed: 4, std: 0.3)
            let y = try Resampler.resample(x, from: from, to: to)
            let f = ResamplerReference(from: from, to: to)
            var worst = 0.0
            for o in stride(from: 0, to: y.count, by: 193) { worst = max(worst, abs(Double(y[o]) - f.output(o, x))) }
            XCTAssertLessThan(worst, 2e-6, "\(from)→\(to): worst |error| \(worst)")
        }
    }
}

/// Resampling evaluated directly in double precision, output by output: the filtered signal
/// (x ∗ h, h the resampler's own taps) band-limited-interpolated (sinc) at the output instant
/// o·from/to. Independent of the transform code; the sinc tails beyond 64 samples past the filter
/// are dropped (they carry the filter's response at Nyquist, < 1e-7).
struct ResamplerReference {
    let h: [Double], step: Double
    let g: (Double) -> Double

    init(from: Int, to: Int) {
        let taps = (try? Resampler.filterTaps(from: from, to: to)) ?? [1]
        let half = taps.count - 1
        h = taps; step = Double(from) / Double(to)
        g = { tau in
            if abs(tau) > Double(half + 64) { return 0 }
            var s = 0.0
            for n in -half...half {
                let u = tau - Double(n)
                s += taps[abs(n)] * (u == 0 ? 1 : sin(Double.pi * u) / (Double.pi * u))
            }
            return s
        }
    }

    func output(_ o: Int, _ x: [Float]) -> Double {
        let t = Double(o) * step, reach = h.count - 1 + 64
        let lo = max(0, Int(t.rounded(.down)) - reach), hi = min(x.count - 1, Int(t.rounded(.up)) + reach)
        if lo > hi { return 0 }
        var s = 0.0
        for m in lo...hi { s += Double(x[m]) * g(t - Double(m)) }
        return s
    }
}
