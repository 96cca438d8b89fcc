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

    /// The polyphase loop runs on every kernel path this CPU has, with the baseline's samples.
    func testEveryKernelPathResamplesAlike() {
        let x = TestSupport.randn(44_100, seed: 5, std: 0.3)
        let runs = Kernels.available.compactMap { p in Kernels.with(p) { Resampler.resample(x, from: 44_100, to: 16_000) } }
        XCTAssertEqual(runs.count, Kernels.available.count)
        for r in runs.dropFirst() { XCTAssertLessThan(TestSupport.relativeError(r, runs[0]), 1e-6) }
        Kernels.select(Kernels.available.last ?? .baseline)
    }

    func testLengthAndIdentity() {
        let x = TestSupport.randn(44100, seed: 1)
        XCTAssertEqual(Resampler.resample(x, from: 44100, to: 44100), x)
        XCTAssertEqual(Resampler.resample(x, from: 44100, to: 16000).count, 16000)
        XCTAssertEqual(Resampler.resample(Array(x[0..<1001]), from: 44100, to: 16000).count, 364) // ⌈1001·160/441⌉
        XCTAssertEqual(Resampler.resample(Array(x[0..<1000]), from: 8000, to: 48000).count, 6000)
        XCTAssertEqual(Resampler.resample([], from: 8000, to: 16000), [])
    }

    /// Tones at 1 kHz and at 0.8 × the lower Nyquist keep their frequency (residual of a fit at the
    /// exact frequency < −60 dB) and level (±0.1 dB) for every source/target pair.
    func testTonesKeepFrequencyAndLevel() {
        for from in Self.sourceRates {
            for to in Self.targetRates where to != from {
                let nyq = Double(min(from, to)) / 2
                for hz in [1000.0, 0.8 * nyq] {
                    let y = Resampler.resample(tone(hz, rate: from), from: from, to: to)
                    let edge = to / 20                      // skip 50 ms at each end (filter start-up)
                    let (amp, res) = fit(y, hz: hz, rate: to, edge, y.count - edge)
                    let db = 20 * log10(amp / 0.5)
                    XCTAssertEqual(db, 0, accuracy: 0.1, "\(from)→\(to) Hz, tone \(hz) Hz: level \(db) dB")
                    XCTAssertLessThan(20 * log10(res / 0.5), -60, "\(from)→\(to), tone \(hz) Hz: residual \(res)")
                }
            }
        }
    }

    /// Tones above the new Nyquist (just above it, halfway, near the old Nyquist) come out at least
    /// 60 dB down.
    func testContentAboveNewNyquistIsAttenuated60dB() {
        for from in Self.sourceRates {
            for to in Self.targetRates where to < from {
                let newNyq = Double(to) / 2, oldNyq = Double(from) / 2
                for hz in [newNyq * 1.005, newNyq * 1.05, (newNyq + oldNyq) / 2, oldNyq * 0.98] {
                    let y = Resampler.resample(tone(hz, rate: from), from: from, to: to)
                    let edge = to / 20
                    let level = 20 * log10(rms(y, edge, y.count - edge) * 2.0.squareRoot() / 0.5)
                    XCTAssertLessThan(level, -60, "\(from)→\(to) Hz, tone \(hz) Hz: \(level) dB")
                }
            }
        }
    }

    /// Edge outputs (filter reaching past the signal, treated as zeros) equal the interior path run
    /// on the signal surrounded by explicit zeros; also for signals shorter than the filter.
    func testEdgesMatchExplicitZeroPadding() {
        for (from, to) in [(44100, 16000), (8000, 48000), (22050, 32000)] {
            let g = [from, to].reduce(0) { a, b in var (a, b) = (a, b); while b != 0 { (a, b) = (b, a % b) }; return a }
            let k = 3 * (from / g) * ((2000 + from / g - 1) / (from / g))      // multiple of from/g, ≥ 2000
            for n in [37, 5000] {
                let x = TestSupport.randn(n, seed: UInt64(n))
                let zeros = [Float](repeating: 0, count: k)
                let y = Resampler.resample(x, from: from, to: to)
                let yp = Resampler.resample(zeros + x + zeros, from: from, to: to)
                let shift = k / (from / g) * (to / g)
                for o in 0..<y.count { XCTAssertEqual(y[o], yp[shift + o], accuracy: 1e-6, "\(from)→\(to), n \(n), output \(o)") }
            }
        }
    }

    /// White noise keeps its in-band power when downsampling by 2.
    func testNoisePowerInBand() {
        let x = TestSupport.randn(96000, seed: 9, std: 0.1)
        let y = Resampler.resample(x, from: 32000, to: 16000)
        // White noise: the output keeps the lower half of the band up to the cut-off (0.93 × new
        // Nyquist), so its power is ≈ 0.5 × 0.93 of the input's.
        let ratio = pow(rms(y, 800, y.count - 800), 2) / pow(rms(x, 0, x.count), 2)
        XCTAssertEqual(ratio, 0.465, accuracy: 0.015)
    }
}
