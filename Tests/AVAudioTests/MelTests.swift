import Foundation
import XCTest
import AVAudio
import AVTensor
import AVSafetensors
import TestSupport

/// Filterbank and log-mel against librosa (fixtures/mel.safetensors, parameter sets "a" and "b").
final class MelTests: XCTestCase {
    struct Settings: Decodable {
        let sr: Int, n_fft: Int, win_length: Int, hop_length: Int, n_mels: Int
        let fmin: Double, fmax: Double, htk: Bool, norm: String?
    }

    func settings(_ file: SafetensorsFile, _ key: String) throws -> Settings {
        let json = try XCTUnwrap(file.metadata[key], "metadata key \(key)")
        return try JSONDecoder().decode(Settings.self, from: Data(json.utf8))
    }

    func config(_ s: Settings, samples: Int) -> FrontEndConfig {
        FrontEndConfig(sampleRate: s.sr, nFFT: s.n_fft, winLength: s.win_length, hopLength: s.hop_length,
                       nMels: s.n_mels, fmin: Float(s.fmin), fmax: Float(s.fmax), melScale: s.htk ? .htk : .slaney,
                       melNorm: s.norm == "slaney" ? .slaney : .none, clipSamples: samples, fold: false,
                       imageHeight: s.n_mels, imageWidth: 1 + samples / s.hop_length, normMean: 0, normStd: 1)
    }

    func testFilterbankMatchesLibrosa() throws {
        let file = try TestSupport.fixture("mel.safetensors")
        for key in ["a", "b"] {
            let s = try settings(file, key)
            let fb = MelFilterbank(sampleRate: s.sr, nFFT: s.n_fft, nMels: s.n_mels, fmin: s.fmin, fmax: s.fmax,
                                   htk: s.htk, slaneyNorm: s.norm == "slaney")
            let ref = try file.floats("\(key).filterbank")
            XCTAssertEqual(try file.entry("\(key).filterbank").shape, [s.n_mels, s.n_fft / 2 + 1])
            let got = fb.dense()
            var worst: Float = 0
            for i in 0..<ref.count { worst = max(worst, abs(got[i] - ref[i])) }
            XCTAssertLessThanOrEqual(worst, 1e-5, "set \(key): max |Δ| \(worst)")
            XCTAssertGreaterThan(ref.max()!, 0)
        }
    }

    func testLogMelMatchesLibrosaWithin005dB() throws {
        let file = try TestSupport.fixture("mel.safetensors")
        for key in ["a", "b"] {
            let s = try settings(file, key)
            let y = try file.floats("\(key).waveform")
            let ref = try file.floats("\(key).log_mel")
            let shape = try file.entry("\(key).log_mel").shape
            let lm = try LogMel(config(s, samples: y.count))
            XCTAssertEqual([lm.nMels, lm.frames(samples: y.count)], shape)
            let got = lm(y)
            let top = ref.max()!
            var worst: Float = 0, checked = 0
            for i in 0..<ref.count where ref[i] >= top - 80 {
                worst = max(worst, abs(got[i] - ref[i])); checked += 1
            }
            XCTAssertGreaterThan(checked, ref.count / 2, "set \(key)")
            XCTAssertLessThanOrEqual(worst, 0.05, "set \(key): max |Δ| \(worst) dB over \(checked) bins")
            print("log-mel set \(key): max |Δ| = \(worst) dB over \(checked) of \(ref.count) bins")
        }
    }

    /// The FrontEnd without folding/cropping gives the same values as LogMel, normalised.
    func testFrontEndSpectrogramIsNormalisedLogMel() throws {
        let file = try TestSupport.fixture("mel.safetensors")
        let s = try settings(file, "a")
        let y = try file.floats("a.waveform")
        var c = config(s, samples: y.count)
        c.normMean = -30; c.normStd = 12
        let fe = try FrontEnd(c)
        var rng = Rng(seed: 1)
        let img = fe.image(waveform: y, training: false, rng: &rng)
        let ref = try file.floats("a.log_mel")
        XCTAssertEqual(img.count, ref.count)
        let top = ref.max()!
        for i in 0..<ref.count where ref[i] >= top - 80 {
            XCTAssertEqual(img[i] * 12 - 30, ref[i], accuracy: 0.06)
        }
    }

    /// The blocked sparse filterbank equals the dense matrix product W · P for a block of frames.
    func testApplyBlockEqualsDenseProduct() {
        let fb = MelFilterbank(sampleRate: 32000, nFFT: 1024, nMels: 64, fmin: 50, fmax: 14000, htk: false, slaneyNorm: true)
        let b = MelFilterbank.blockFrames
        let power = TestSupport.randn(fb.nBins * b, seed: 4).map { $0 * $0 }     // [nBins, b]
        var out = [Float](repeating: .nan, count: fb.nMels * b)
        power.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { fb.applyBlock(power: p.baseAddress!, out: $0.baseAddress!) } }
        let w = fb.dense()
        for m in 0..<fb.nMels {
            for j in 0..<b {
                var ref = 0.0
                for k in 0..<fb.nBins { ref += Double(w[m * fb.nBins + k]) * Double(power[k * b + j]) }
                XCTAssertEqual(Double(out[m * b + j]), ref, accuracy: 1e-5 * max(1, abs(ref)), "mel \(m) frame \(j)")
            }
        }
    }

    func testDecibelsAgainstLog10() {
        var rng = Rng(seed: 3)
        var xs: [Float] = [0, 1e-12, 1e-10, 1e-9, 0.5, 1, 1.4142135, 2, 3e5, 1e30, Float.greatestFiniteMagnitude]
        for _ in 0..<5000 { xs.append(powf(10, rng.uniform() * 24 - 12)) }
        var p = xs
        p.withUnsafeMutableBufferPointer { Decibels.fromPower($0.baseAddress!, count: $0.count) }
        for (x, d) in zip(xs, p) {
            let exact = 10 * log10(max(Double(x), 1e-10))
            XCTAssertEqual(Double(d), exact, accuracy: 1e-4 + 2e-7 * abs(exact), "x = \(x)")
        }
        var special: [Float] = [.nan, .infinity, -1]
        special.withUnsafeMutableBufferPointer { Decibels.fromPower($0.baseAddress!, count: $0.count) }
        XCTAssertTrue(special[0].isNaN)
        XCTAssertEqual(special[1], .infinity)
        XCTAssertEqual(special[2], -100, accuracy: 1e-4)
    }

    /// STFT power against a direct double-precision DFT of windowed, reflect-padded frames.
    func testSTFTAgainstDirectDFT() throws {
        let nFFT = 64, win = 50, hop = 16
        let x = TestSupport.randn(203, seed: 5)
        let stft = try STFT(nFFT: nFFT, winLength: win, hopLength: hop)
        let p = stft.power(x)
        let frames = 1 + x.count / hop, bins = nFFT / 2 + 1
        XCTAssertEqual(p.count, frames * bins)
        func reflect(_ i: Int) -> Float { i < 0 ? x[-i] : (i >= x.count ? x[2 * (x.count - 1) - i] : x[i]) }
        let off = (nFFT - win) / 2
        for t in [0, 1, frames / 2, frames - 1] {
            for k in 0..<bins {
                var re = 0.0, im = 0.0
                for j in 0..<win {
                    let w = 0.5 - 0.5 * cos(2 * Double.pi * Double(j) / Double(win))
                    let v = Double(reflect(t * hop - nFFT / 2 + off + j)) * w
                    let ang = -2 * Double.pi * Double(k * (off + j)) / Double(nFFT)
                    re += v * cos(ang); im += v * sin(ang)
                }
                let ref = re * re + im * im
                XCTAssertEqual(Double(p[t * bins + k]), ref, accuracy: 1e-4 * max(1, ref), "frame \(t) bin \(k)")
            }
        }
    }

    /// Many threads computing log-mels at once give the same values as one thread.
    func testConcurrentUseMatchesSerial() throws {
        let fe = try FrontEnd(.default16k)
        let clips = (0..<8).map { TestSupport.randn(40000 + 1000 * $0, seed: UInt64($0)) }
        var rng = Rng(seed: 0)
        let serial = clips.map { fe.image(waveform: $0, training: false, rng: &rng) }
        let results = UnsafeMutableBufferPointer<[Float]>.allocate(capacity: clips.count)
        results.initialize(repeating: [])
        defer { results.deallocate() }
        let box = UncheckedBox(results)
        DispatchQueue.concurrentPerform(iterations: clips.count) { i in
            var r = Rng(seed: 0)
            box.value[i] = fe.image(waveform: clips[i], training: false, rng: &r)
        }
        for i in 0..<clips.count { XCTAssertEqual(results[i], serial[i], "clip \(i)") }
    }
}
