import Foundation
import XCTest
import AVAudio
import AVTensor
import TestSupport

/// Config validation, fixed length, folding and the image path of `FrontEnd`.
final class FrontEndTests: XCTestCase {
    func testDefaultConfigIsValidAndFoldsTo256Square() throws {
        let c = FrontEndConfig.default16k
        XCTAssertEqual(c.stftFrames, 1024)
        XCTAssertEqual(c.imageFrames, 1024)
        let fe = try FrontEnd(c)
        XCTAssertEqual(fe.imageShape.height, 256)
        XCTAssertEqual(fe.imageShape.width, 256)
        var rng = Rng(seed: 1)
        let img = fe.image(waveform: TestSupport.randn(16000 * 10, seed: 2, std: 0.1), training: true, rng: &rng)
        XCTAssertEqual(img.count, 256 * 256)
        XCTAssertTrue(img.allSatisfy(\.isFinite))
    }

    func testInconsistentConfigThrowsNamingTheKey() {
        let d = FrontEndConfig.default16k
        var cases: [(String, FrontEndConfig)] = []
        func bad(_ key: String, _ change: (inout FrontEndConfig) -> Void) { var c = d; change(&c); cases.append((key, c)) }
        bad("sampleRate") { $0.sampleRate = 0 }
        bad("nFFT") { $0.nFFT = 511 }
        bad("winLength") { $0.winLength = 600 }
        bad("hopLength") { $0.hopLength = 0 }
        bad("nMels") { $0.nMels = 0 }
        bad("fmin") { $0.fmin = -1 }
        bad("fmax") { $0.fmax = 9000 }
        bad("clipSamples") { $0.clipSamples = 100 }
        bad("imageHeight") { $0.imageHeight = 200 }
        bad("imageHeight") { $0.fold = false }
        bad("imageWidth") { $0.imageWidth = 0 }
        bad("normStd") { $0.normStd = 0 }
        bad("freqMasks") { $0.freqMasks = -1 }
        bad("timeMaxFraction") { $0.timeMaxFraction = 1.5 }
        bad("timeWarp") { $0.timeWarp = 600 }
        for (key, c) in cases {
            XCTAssertThrowsError(try FrontEnd(c), key) { e in
                XCTAssertEqual((e as? FrontEndConfigError)?.key, key, "\(e)")
                XCTAssertTrue("\(e)".contains(key))
            }
        }
        // Choices are enums: a value outside them fails to decode, naming the key and the choices.
        for (key, value, allowed) in [("melScale", "bark", "\"htk\", \"slaney\""), ("melNorm", "l2", "\"slaney\", \"none\""),
                                      ("pad", "mirror", "\"zero\", \"repeat\"")] {
            XCTAssertThrowsError(try JSONDecoder().decode(FrontEndConfig.self, from: Data("{\"\(key)\": \"\(value)\"}".utf8))) { e in
                XCTAssertEqual((e as? FrontEndConfigError)?.key, key, "\(e)")
                XCTAssertTrue("\(e)".contains(allowed), "\(e)")
            }
        }
    }

    func testConfigDecodesPartialJSONWithDefaults() throws {
        let json = #"{"sampleRate": 32000, "nFFT": 1024, "winLength": 1024, "hopLength": 320, "fmax": 14000, "melScale": "slaney"}"#
        let c = try JSONDecoder().decode(FrontEndConfig.self, from: Data(json.utf8))
        var expected = FrontEndConfig.default16k
        expected.sampleRate = 32000; expected.nFFT = 1024; expected.winLength = 1024; expected.hopLength = 320
        expected.fmax = 14000; expected.melScale = .slaney
        XCTAssertEqual(c, expected)
        let round = try JSONDecoder().decode(FrontEndConfig.self, from: JSONEncoder().encode(c))
        XCTAssertEqual(round, c)
        XCTAssertThrowsError(try JSONDecoder().decode(FrontEndConfig.self, from: Data(#"{"nMel": 128}"#.utf8))) {
            XCTAssertEqual(($0 as? FrontEndConfigError)?.key, "nMel")
        }
    }

    func testFixedLengthCropAndPad() {
        let x: [Float] = (1...10).map(Float.init)
        var rng = Rng(seed: 4)
        XCTAssertEqual(FixedLength.apply(x, length: 4, pad: .zero, training: false, rng: &rng), [4, 5, 6, 7])
        XCTAssertEqual(FixedLength.apply(x, length: 13, pad: .zero, training: false, rng: &rng), x + [0, 0, 0])
        XCTAssertEqual(FixedLength.apply(x, length: 23, pad: .repeat, training: false, rng: &rng), x + x + [1, 2, 3])
        XCTAssertEqual(FixedLength.apply([], length: 3, pad: .repeat, training: true, rng: &rng), [0, 0, 0])
        // Random crops: every start 0...6 occurs, each crop is a contiguous run of x.
        var starts = Set<Float>()
        for _ in 0..<500 {
            let c = FixedLength.apply(x, length: 4, pad: .zero, training: true, rng: &rng)
            XCTAssertEqual(c, Array(x[Int(c[0] - 1)..<Int(c[0] + 3)]))
            starts.insert(c[0])
        }
        XCTAssertEqual(starts, Set((1...7).map(Float.init)))
    }

    func testFoldUnfold() {
        // 2 mels × (3 chunks · 4 frames): value = 100·mel + frame.
        let s: [Float] = (0..<2).flatMap { m in (0..<12).map { Float(100 * m + $0) } }
        let img = Fold.fold(s, nMels: 2, width: 4, chunks: 3)
        // Row c·2 + m holds mel m, frames 4c ..< 4c+4.
        XCTAssertEqual(Array(img[0..<4]), [0, 1, 2, 3])
        XCTAssertEqual(Array(img[4..<8]), [100, 101, 102, 103])
        XCTAssertEqual(Array(img[8..<12]), [4, 5, 6, 7])
        XCTAssertEqual(Array(img[20..<24]), [108, 109, 110, 111])
        XCTAssertEqual(Fold.unfold(img, nMels: 2, width: 4, chunks: 3), s)
    }

    /// The folded image is the log-mel of the centred crop, normalised, laid out chunk by chunk;
    /// evaluation is deterministic and training crops depend on the seed.
    func testImageIsFoldedNormalisedLogMelOfCentredCrop() throws {
        var c = FrontEndConfig.default16k
        c.clipSamples = 16000; c.imageHeight = 128; c.imageWidth = 50   // 101 STFT frames, 2×50 used
        let fe = try FrontEnd(c)
        let x = TestSupport.randn(20000, seed: 7, std: 0.2)
        var rng = Rng(seed: 1)
        let img = fe.image(waveform: x, training: false, rng: &rng)
        XCTAssertEqual(img, fe.image(waveform: x, training: false, rng: &rng))
        let lm = try LogMel(c)(Array(x[2000..<18000]))              // centred crop
        let frames = 101
        for chunk in 0..<2 {
            for m in stride(from: 0, to: 64, by: 5) {
                for col in 0..<50 {
                    let ref = (lm[m * frames + chunk * 50 + col] - c.normMean) / c.normStd
                    XCTAssertEqual(img[(chunk * 64 + m) * 50 + col], ref, accuracy: 1e-5)
                }
            }
        }
        var r1 = Rng(seed: 5), r2 = Rng(seed: 5), r3 = Rng(seed: 6)
        let t1 = fe.image(waveform: x, training: true, rng: &r1)
        XCTAssertEqual(t1, fe.image(waveform: x, training: true, rng: &r2))
        XCTAssertNotEqual(t1, fe.image(waveform: x, training: true, rng: &r3))
    }

    /// Statistics are those of the raw dB values; normalising with them gives mean 0, std 1.
    func testLogMelStatistics() throws {
        var c = FrontEndConfig.default16k
        c.clipSamples = 16000; c.fold = false; c.imageHeight = 64; c.imageWidth = 101
        let clips = (0..<3).map { TestSupport.randn(16000, seed: UInt64($0), std: 0.05 * Float($0 + 1)) }
        let st = try FrontEnd(c).logMelStatistics(clips)
        let lm = try LogMel(c)
        let all = clips.flatMap { lm($0) }
        let mean = all.reduce(0.0) { $0 + Double($1) } / Double(all.count)
        let std = (all.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(all.count)).squareRoot()
        XCTAssertEqual(Double(st.mean), mean, accuracy: 1e-3)
        XCTAssertEqual(Double(st.std), std, accuracy: 1e-3)
        XCTAssertGreaterThan(st.std, 1)
        c.normMean = st.mean; c.normStd = st.std
        let normed = try FrontEnd(c).logMelStatistics(clips)      // statistics ignore normalisation
        XCTAssertEqual(normed.mean, st.mean, accuracy: 1e-4)
        var rng = Rng(seed: 0)
        let fe = try FrontEnd(c)
        let z = clips.flatMap { fe.image(waveform: $0, training: false, rng: &rng) }
        let zm = z.reduce(0.0) { $0 + Double($1) } / Double(z.count)
        let zs = (z.reduce(0.0) { $0 + (Double($1) - zm) * (Double($1) - zm) } / Double(z.count)).squareRoot()
        XCTAssertEqual(zm, 0, accuracy: 1e-3)
        XCTAssertEqual(zs, 1, accuracy: 1e-3)
    }

    /// Frames past the end of a short STFT are silence; a short clip is zero- or repeat-padded.
    func testPaddingModes() throws {
        var c = FrontEndConfig.default16k
        c.clipSamples = 8000; c.fold = false; c.imageHeight = 64; c.imageWidth = 60   // 51 STFT frames
        c.pad = .zero
        let x = TestSupport.randn(3000, seed: 8, std: 0.3)
        var rng = Rng(seed: 0)
        let zero = try FrontEnd(c).image(waveform: x, training: false, rng: &rng)
        c.pad = .repeat
        let rep = try FrontEnd(c).image(waveform: x, training: false, rng: &rng)
        let silence = try FrontEnd(c).silence
        for m in 0..<64 {
            for t in 51..<60 { XCTAssertEqual(zero[m * 60 + t], silence); XCTAssertEqual(rep[m * 60 + t], silence) }
            XCTAssertEqual(zero[m * 60 + 40], silence, accuracy: 1e-6)      // frame 40 = sample 6400: only zeros
            XCTAssertGreaterThan(rep[m * 60 + 40], silence + 1)             // repeated audio there
            XCTAssertEqual(zero[m * 60 + 5], rep[m * 60 + 5], accuracy: 1e-6)
        }
    }
}
