import XCTest
import AVAudio
import AVTensor
import TestSupport

/// SpecAugment: counts and widths of masks over many draws, application, folding and determinism.
final class SpecAugmentTests: XCTestCase {
    /// Over 20 000 draws: exactly the configured numbers of masks; widths uniform over 0...max
    /// (mean max/2, every width seen, none beyond max); starts keep masks inside.
    func testMaskCountsAndWidthDistribution() {
        let sa = SpecAugment(FrontEndConfig.default16k, bins: 64, frames: 1024)
        XCTAssertEqual(sa.freqMaxWidth, 9)      // ⌊0.15 · 64⌋
        XCTAssertEqual(sa.timeMaxWidth, 307)    // ⌊0.3 · 1024⌋
        var rng = Rng(seed: 11)
        var fw = [Int](), tw = [Int](), fStart = [Int]()
        let draws = 20000
        for _ in 0..<draws {
            let (warp, masks) = sa.draw(bins: 64, frames: 1024, rng: &rng)
            XCTAssertNil(warp)
            XCTAssertEqual(masks.filter { $0.axis == .frequency }.count, 2)
            XCTAssertEqual(masks.filter { $0.axis == .time }.count, 2)
            for m in masks {
                XCTAssertGreaterThanOrEqual(m.start, 0)
                if m.axis == .frequency { fw.append(m.width); fStart.append(m.start); XCTAssertLessThanOrEqual(m.start + m.width, 64) }
                else { tw.append(m.width); XCTAssertLessThanOrEqual(m.start + m.width, 1024) }
            }
        }
        func mean(_ a: [Int]) -> Double { Double(a.reduce(0, +)) / Double(a.count) }
        XCTAssertEqual(Set(fw), Set(0...9))
        XCTAssertEqual(mean(fw), 4.5, accuracy: 0.1)            // σ/√n ≈ 2.9/200
        XCTAssertEqual(tw.max(), 307)
        XCTAssertEqual(tw.min(), 0)
        XCTAssertEqual(mean(tw), 153.5, accuracy: 2.5)          // σ/√n ≈ 89/200
        // Each width value of the frequency masks has probability 1/10.
        for w in 0...9 {
            XCTAssertEqual(Double(fw.filter { $0 == w }.count) / Double(fw.count), 0.1, accuracy: 0.01, "width \(w)")
        }
        XCTAssertEqual(Set(fStart), Set(0...64))     // a width-0 mask may start at 64
    }

    /// `apply` sets exactly the union of the drawn masks to `fill` and leaves the rest untouched.
    func testApplyMasksExactlyTheDrawnRegions() {
        let sa = SpecAugment(freqMasks: 3, freqMaxWidth: 5, timeMasks: 2, timeMaxWidth: 20, fill: -7)
        let bins = 16, frames = 80
        for seed in 0..<50 as Range<UInt64> {
            let x = TestSupport.randn(bins * frames, seed: seed + 100)
            var s = x
            var r1 = Rng(seed: seed), r2 = Rng(seed: seed)
            sa.apply(&s, bins: bins, frames: frames, rng: &r1)
            let masks = sa.draw(bins: bins, frames: frames, rng: &r2).masks
            for b in 0..<bins {
                for t in 0..<frames {
                    let hidden = masks.contains { m in
                        m.axis == .frequency ? (m.start..<(m.start + m.width)).contains(b) : (m.start..<(m.start + m.width)).contains(t)
                    }
                    XCTAssertEqual(s[b * frames + t], hidden ? -7 : x[b * frames + t])
                }
            }
        }
    }

    /// The default (folded 256 × 256) front-end with these masks, and the image of 10 s of noise.
    func foldedImage(freqMasks: Int, timeMasks: Int, seed: UInt64, rng: inout Rng) throws -> (FrontEnd, [Float]) {
        var c = FrontEndConfig.default16k
        c.freqMasks = freqMasks; c.timeMasks = timeMasks
        let fe = try FrontEnd(c)
        return (fe, fe.image(waveform: TestSupport.randn(160000, seed: seed, std: 0.1), training: false, rng: &rng))
    }

    /// On a folded image a frequency mask hides the same mel bins in every chunk, and the
    /// fraction of masked pixels matches its expectation over many draws.
    func testFrontEndSpecAugmentOnFoldedImage() throws {
        var rng = Rng(seed: 3)
        let (fe, img) = try foldedImage(freqMasks: 1, timeMasks: 0, seed: 1, rng: &rng)
        XCTAssertFalse(img.contains(0))
        var maskedRows = 0
        for _ in 0..<200 {
            let a = fe.specAugment(img, rng: &rng)
            let zeroRows = (0..<256).filter { r in a[(r * 256)..<((r + 1) * 256)].allSatisfy { $0 == 0 } }
            let mels = Set(zeroRows.map { $0 % 64 })
            XCTAssertEqual(zeroRows.count, mels.count * 4)       // same mel bins in all 4 chunks
            for r in 0..<256 where !zeroRows.contains(r) { XCTAssertEqual(a[(r * 256)..<((r + 1) * 256)], img[(r * 256)..<((r + 1) * 256)]) }
            maskedRows += mels.count
        }
        XCTAssertEqual(Double(maskedRows) / 200, 4.5, accuracy: 0.7)   // mean width of U{0…9}
        var r1 = Rng(seed: 9), r2 = Rng(seed: 9)
        XCTAssertEqual(fe.specAugment(img, rng: &r1), fe.specAugment(img, rng: &r2))
    }

    /// On a folded image a time mask hides one run of consecutive frames of the unfolded
    /// spectrogram (possibly across chunks), all mel bins, with mean width ≈ max/2.
    func testFrontEndTimeMaskOnFoldedImage() throws {
        var rng = Rng(seed: 4)
        let (fe, img) = try foldedImage(freqMasks: 0, timeMasks: 1, seed: 2, rng: &rng)
        var total = 0, crossed = 0
        let draws = 300
        for _ in 0..<draws {
            let s = Fold.unfold(fe.specAugment(img, rng: &rng), nMels: 64, width: 256, chunks: 4)
            let masked = (0..<1024).filter { t in (0..<64).allSatisfy { s[$0 * 1024 + t] == 0 } }
            for t in 0..<1024 where !masked.contains(t) { XCTAssertFalse((0..<64).contains { s[$0 * 1024 + t] == 0 }) }
            if let first = masked.first { XCTAssertEqual(masked, Array(first..<(first + masked.count))) }
            XCTAssertLessThanOrEqual(masked.count, 307)
            if let f = masked.first, f / 256 != masked.last! / 256 { crossed += 1 }
            total += masked.count
        }
        XCTAssertEqual(Double(total) / Double(draws), 153.5, accuracy: 16)   // σ/√n ≈ 89/17
        XCTAssertGreaterThan(crossed, 0)
    }

    /// Time warp: identity when the shift is 0, the warp point moves by the shift, endpoints stay.
    func testTimeWarp() {
        let frames = 40
        let ramp: [Float] = (0..<frames).map(Float.init) + (0..<frames).map { Float(2 * $0) }
        var s = ramp
        SpecAugment.warp(&s, bins: 2, frames: frames, .init(center: 10, shift: 0))
        XCTAssertEqual(s, ramp)
        SpecAugment.warp(&s, bins: 2, frames: frames, .init(center: 10, shift: 5))
        XCTAssertEqual(s[15], 10, accuracy: 1e-5)                 // old frame 10 now at 15
        XCTAssertEqual(s[frames + 15], 20, accuracy: 1e-5)
        XCTAssertEqual(s[0], 0); XCTAssertEqual(s[frames - 1], Float(frames - 1), accuracy: 1e-5)
        for t in 1..<frames { XCTAssertGreaterThan(s[t], s[t - 1]) }
        // Drawn warps stay within ±timeWarp and keep the warp point inside.
        let sa = SpecAugment(freqMasks: 0, freqMaxWidth: 0, timeMasks: 0, timeMaxWidth: 0, timeWarp: 5)
        var rng = Rng(seed: 1)
        var shifts = Set<Int>()
        for _ in 0..<2000 {
            let w = try! XCTUnwrap(sa.draw(bins: 2, frames: frames, rng: &rng).warp)
            XCTAssertTrue((6...(frames - 7)).contains(w.center))
            shifts.insert(w.shift)
            var x = ramp
            sa.apply(&x, bins: 2, frames: frames, rng: &rng)
            XCTAssertTrue(x.allSatisfy(\.isFinite))
        }
        XCTAssertEqual(shifts, Set(-5...5))
    }
}
