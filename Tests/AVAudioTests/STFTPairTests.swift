import Foundation
import XCTest
import AVAudio
import AVTensor
import TestSupport

/// The STFT runs frames in pairs through one complex FFT and separates the two spectra by
/// symmetry (`avk_two_real_power`, per kernel path). Checked against a direct double-precision
/// DFT of single frames, for an odd frame count (the last frame has no partner), on every path.
final class STFTPairTests: XCTestCase {
    override func tearDown() { Kernels.select(Kernels.available.last ?? .baseline) }

    /// |DFT|² of frame t as librosa frames it (periodic Hann of `win` centred in `nFFT`, frames
    /// centred on t·hop, reflect padding), in double precision.
    func directPower(_ x: [Float], frame t: Int, nFFT: Int, win: Int, hop: Int) -> [Double] {
        let n = x.count, wOff = (nFFT - win) / 2
        func reflect(_ i: Int) -> Int { let p = 2 * (n - 1); var k = i % p; if k < 0 { k += p }; return k < n ? k : p - k }
        var frame = [Double](repeating: 0, count: nFFT)
        for j in 0..<win {
            let w = 0.5 - 0.5 * cos(2 * Double.pi * Double(j) / Double(win))
            frame[wOff + j] = w * Double(x[reflect(t * hop - nFFT / 2 + wOff + j)])
        }
        return (0...(nFFT / 2)).map { k in
            var re = 0.0, im = 0.0
            for (i, v) in frame.enumerated() {
                let a = -2 * Double.pi * Double(k * i % nFFT) / Double(nFFT)
                re += v * cos(a); im += v * sin(a)
            }
            return re * re + im * im
        }
    }

    func testPairedFramesMatchDirectDFTOnEveryPath() throws {
        let (nFFT, win, hop) = (512, 400, 160)
        let x = TestSupport.randn(32 * hop + 7, seed: 3, std: 0.2)     // 33 frames: the last one is unpaired
        let stft = try STFT(nFFT: nFFT, winLength: win, hopLength: hop)
        XCTAssertEqual(stft.frames(samples: x.count), 33)
        let config = FrontEndConfig.default16k
        let logMel = LogMel(stft: stft, filterbank: MelFilterbank(config))
        var runs: [(KernelPath, [Float], [Float])] = []
        for p in Kernels.available {
            guard let r = Kernels.with(p, { (stft.power(x), logMel(x)) }) else { continue }
            runs.append((p, r.0, r.1))
        }
        XCTAssertEqual(runs.count, Kernels.available.count)
        let bins = stft.nBins
        for t in [0, 1, 2, 17, 31, 32] {
            let want = directPower(x, frame: t, nFFT: nFFT, win: win, hop: hop)
            let peak = want.max() ?? 1
            for (path, power, _) in runs {
                let got = power[(t * bins)..<((t + 1) * bins)]
                let worst = zip(got, want).map { abs(Double($0) - $1) }.max() ?? 1
                XCTAssertLessThan(worst / peak, 1e-5, "frame \(t) on \(path)")
            }
        }
        // The log-mel (power written bin-major with a stride) agrees across paths.
        for (path, _, mel) in runs.dropFirst() {
            let worst = zip(mel, runs[0].2).map { abs($0 - $1) }.max() ?? 1
            XCTAssertLessThan(worst, 1e-3, "log-mel dB on \(path) vs baseline")
        }
    }
}
