import Foundation
import XCTest
import AVAudio
import TestSupport

/// Every format libsndfile writes here, any channel count and rate, and bad files.
final class AudioDecoderTests: XCTestCase {
    let formats: [(AudioFile.Format, String, Float)] = [
        (.wav16, "wav", 1.0 / 32768), (.wav24, "wav", 1.0 / 8_388_608), (.wav32, "wav", 1e-6),
        (.wavFloat, "wav", 1e-7), (.flac16, "flac", 1.0 / 32768), (.flac24, "flac", 1.0 / 8_388_608),
        (.aiff16, "aiff", 1.0 / 32768),
    ]

    func tone(_ n: Int, rate: Int, hz: Float, amp: Float = 0.5) -> [Float] {
        TestSupport.tone(count: n, rate: rate, hz: Double(hz), amp: Double(amp))
    }

    func interleave(_ chans: [[Float]]) -> [Float] {
        var out = [Float]()
        for i in 0..<chans[0].count { for c in chans { out.append(c[i]) } }
        return out
    }

    /// Lossless formats, 1, 2 and 6 channels: the decoded mono mix equals the mean of the channels.
    func testLosslessFormatsAndChannelCounts() throws {
        let dir = TestSupport.tempDir()
        for (format, ext, tol) in formats {
            for channels in [1, 2, 6] {
                let chans = (0..<channels).map { tone(4000, rate: 16000, hz: 300 + 200 * Float($0), amp: 0.8 / Float(channels)) }
                let path = dir.appendingPathComponent("\(format)-\(channels).\(ext)").path
                try AudioFile.write(path, samples: interleave(chans), sampleRate: 16000, channels: channels, format: format)
                let y = try AudioDecoder.load(path, sampleRate: 16000)
                XCTAssertEqual(y.count, 4000, "\(format) \(channels) ch")
                var worst: Float = 0
                for i in 0..<y.count {
                    let mean = chans.reduce(0) { $0 + $1[i] } / Float(channels)
                    worst = max(worst, abs(y[i] - mean))
                }
                XCTAssertLessThanOrEqual(worst, tol * 1.01 + 1e-7, "\(format) \(channels) ch: max error \(worst)")
            }
        }
    }

    /// Lossy formats (Ogg/Vorbis, Ogg/Opus, MP3), stereo: the decoded mono tone keeps its frequency
    /// and level (fit at the exact frequency: level within 1 dB, residual ≥ 20 dB down).
    func testLossyFormatsKeepTheTone() throws {
        let dir = TestSupport.tempDir()
        for (format, ext, rate) in [(AudioFile.Format.oggVorbis, "ogg", 16000), (.oggOpus, "opus", 48000), (.mp3, "mp3", 16000)] {
            let x = tone(rate, rate: rate, hz: 440)
            let path = dir.appendingPathComponent("t.\(ext)").path
            try AudioFile.write(path, samples: interleave([x, x]), sampleRate: rate, channels: 2, format: format)
            let y = try AudioDecoder.load(path, sampleRate: 16000)
            XCTAssertEqual(Double(y.count), 16000, accuracy: 1200, "\(format): \(y.count) samples")
            let lo = 3200, hi = min(y.count, 12800)
            var cc = 0.0, ss = 0.0, cs = 0.0, yc = 0.0, ys = 0.0, yy = 0.0
            for n in lo..<hi {
                let w = 2 * Double.pi * 440 * Double(n) / 16000, c = cos(w), s = sin(w), v = Double(y[n])
                cc += c * c; ss += s * s; cs += c * s; yc += v * c; ys += v * s; yy += v * v
            }
            let det = cc * ss - cs * cs
            let a = (yc * ss - ys * cs) / det, b = (ys * cc - yc * cs) / det
            let fitted = a * yc + b * ys                        // energy explained by the tone
            let amp = (a * a + b * b).squareRoot()
            XCTAssertEqual(20 * log10(amp / 0.5), 0, accuracy: 1, "\(format) level")
            XCTAssertGreaterThan(10 * log10(fitted / max(yy - fitted, 1e-12)), 20, "\(format) tone-to-residual")
        }
    }

    /// Files at 8, 22.05, 44.1, 48 and 96 kHz come out at the requested rate with the tone intact.
    func testAnyRateIsResampled() throws {
        let dir = TestSupport.tempDir()
        for rate in [8000, 22050, 44100, 48000, 96000] {
            let x = tone(rate / 2, rate: rate, hz: 500)
            let path = dir.appendingPathComponent("r\(rate).flac").path
            try AudioFile.write(path, samples: x, sampleRate: rate, format: .flac24)
            for target in [16000, 32000] {
                let y = try AudioDecoder.load(path, sampleRate: target)
                XCTAssertEqual(y.count, Resampler.outputCount(x.count, from: rate, to: target))
                let ref = tone(y.count, rate: target, hz: 500)
                for i in stride(from: target / 20, to: y.count - target / 20, by: 7) {
                    XCTAssertEqual(y[i], ref[i], accuracy: 2e-3, "\(rate)→\(target) sample \(i)")
                }
            }
        }
    }

    func assertFails(_ path: String, _ contains: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try AudioDecoder.load(path, sampleRate: 16000), file: file, line: line) { e in
            XCTAssertTrue(e is AudioError, "\(e)", file: file, line: line)
            XCTAssertTrue("\(e)".contains(path), "error does not name the file: \(e)", file: file, line: line)
            XCTAssertTrue("\(e)".contains(contains), "expected '\(contains)' in: \(e)", file: file, line: line)
        }
    }

    func testBadFilesThrowNamingTheFile() throws {
        let dir = TestSupport.tempDir()
        func p(_ n: String) -> String { dir.appendingPathComponent(n).path }
        assertFails(p("missing.wav"), "cannot decode")
        try "hello, I am text".write(toFile: p("text.wav"), atomically: true, encoding: .utf8)
        assertFails(p("text.wav"), "cannot decode")
        _ = FileManager.default.createFile(atPath: p("zero-bytes.flac"), contents: Data())
        assertFails(p("zero-bytes.flac"), "cannot decode")
        try AudioFile.write(p("empty.wav"), samples: [], sampleRate: 16000, format: .wav16)
        assertFails(p("empty.wav"), "empty")
        var x = tone(48000, rate: 16000, hz: 440)
        for (format, ext) in [(AudioFile.Format.wav16, "wav"), (.wav24, "wav"), (.flac16, "flac"), (.oggVorbis, "ogg"),
                              (.aiff16, "aiff"), (.mp3, "mp3"), (.oggOpus, "opus")] {
            let full = p("full-\(format).\(ext)"), cut = p("cut-\(format).\(ext)")
            try AudioFile.write(full, samples: x, sampleRate: 16000, format: format)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: full))
            XCTAssertNoThrow(try AudioDecoder.load(full, sampleRate: 16000))
            try bytes.prefix(bytes.count * 2 / 3).write(to: URL(fileURLWithPath: cut))
            assertFails(cut, "truncated")
        }
        // A FLAC header claiming 2^36 − 1 frames: an error after decoding what is there, no huge allocation.
        try AudioFile.write(p("liar.flac"), samples: x, sampleRate: 16000, format: .flac16)
        var liar = [UInt8](try Data(contentsOf: URL(fileURLWithPath: p("liar.flac"))))
        XCTAssertEqual(Array(liar[0..<4]), Array("fLaC".utf8))
        liar[21] |= 0x0F; for i in 22...25 { liar[i] = 0xFF }     // STREAMINFO total samples (36 bits)
        try Data(liar).write(to: URL(fileURLWithPath: p("liar.flac")))
        assertFails(p("liar.flac"), "truncated: decoded 48000 of 68719476735 frames")
        // A WAV header claiming an absurd sample rate: refused by the resampler, naming the file.
        for rate: UInt32 in [500, 2_000_000_000] {
            try AudioFile.write(p("rate.wav"), samples: x, sampleRate: 16000, format: .wav16)
            var wav = [UInt8](try Data(contentsOf: URL(fileURLWithPath: p("rate.wav"))))
            XCTAssertEqual(Array(wav[12..<16]), Array("fmt ".utf8))
            for i in 0..<4 { wav[24 + i] = UInt8(truncatingIfNeeded: rate >> (8 * UInt32(i))) }
            try Data(wav).write(to: URL(fileURLWithPath: p("rate.wav")))
            assertFails(p("rate.wav"), "cannot resample \(rate) Hz → 16000 Hz")
        }
        x[1234] = .nan
        try AudioFile.write(p("nan.wav"), samples: x, sampleRate: 16000, format: .wavFloat)
        assertFails(p("nan.wav"), "non-finite sample at frame 1234")
    }

    /// Files longer than the first read block (2^20 frames) decode completely, stereo included.
    func testLongFileDecodesCompletely() throws {
        let n = 2_500_001
        let l = (0..<n).map { Float($0 % 1000) / 2000 }, r = (0..<n).map { -Float($0 % 777) / 2000 }
        let path = TestSupport.tempDir().appendingPathComponent("long.wav").path
        try AudioFile.write(path, samples: interleave([l, r]), sampleRate: 16000, channels: 2, format: .wavFloat)
        let d = try AudioFile.read(path)
        XCTAssertEqual(d.frames, n)
        for i in stride(from: 0, to: n, by: 99_991) + [n - 1] {
            XCTAssertEqual(d.samples[2 * i], l[i]); XCTAssertEqual(d.samples[2 * i + 1], r[i])
        }
    }

    /// A streaming writer's WAV header with data size 0xFFFFFFFF ("unknown") is not "truncated".
    func testUnknownDataSizeIsNotTruncation() throws {
        let path = TestSupport.tempDir().appendingPathComponent("stream.wav").path
        try AudioFile.write(path, samples: tone(1600, rate: 16000, hz: 440), sampleRate: 16000, format: .wav16)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let data = try XCTUnwrap((0..<(bytes.count - 4)).first { bytes[$0..<($0 + 4)].elementsEqual("data".utf8) })
        for i in 0..<4 { bytes[data + 4 + i] = 0xFF }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try AudioDecoder.load(path, sampleRate: 16000).count, 1600)
    }
}
