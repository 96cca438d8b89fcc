import XCTest
import AVAudio
import TestSupport

/// libsndfile smoke tests: encode/decode round trips and clear errors.
final class AudioFileTests: XCTestCase {
    func tone(_ n: Int, rate: Int, hz: Float = 440, amp: Float = 0.5) -> [Float] {
        TestSupport.tone(count: n, rate: rate, hz: Double(hz), amp: Double(amp))
    }

    func testWav16RoundTrip() throws {
        let x = tone(8000, rate: 16000)
        let path = TestSupport.tempDir().appendingPathComponent("t.wav").path
        try AudioFile.write(path, samples: x, sampleRate: 16000, format: .wav16)
        let d = try AudioFile.read(path)
        XCTAssertEqual(d.sampleRate, 16000)
        XCTAssertEqual(d.channels, 1)
        XCTAssertEqual(d.frames, 8000)
        for i in 0..<x.count { XCTAssertEqual(d.samples[i], x[i], accuracy: 1.0 / 32768 + 1e-6) }
    }

    func testStereoFlacMixesToMono() throws {
        let l = tone(4410, rate: 44100, amp: 0.4), r = tone(4410, rate: 44100, hz: 1000, amp: 0.2)
        var inter = [Float](); for i in 0..<l.count { inter.append(l[i]); inter.append(r[i]) }
        let path = TestSupport.tempDir().appendingPathComponent("t.flac").path
        try AudioFile.write(path, samples: inter, sampleRate: 44100, channels: 2, format: .flac24)
        let d = try AudioFile.read(path)
        XCTAssertEqual(d.channels, 2)
        let m = d.mono()
        for i in stride(from: 0, to: l.count, by: 37) { XCTAssertEqual(m[i], (l[i] + r[i]) / 2, accuracy: 1e-5) }
    }

    func testErrorsNameTheFile() throws {
        let dir = TestSupport.tempDir()
        let bogus = dir.appendingPathComponent("not-audio.wav").path
        try "hello, I am text".write(toFile: bogus, atomically: true, encoding: .utf8)
        for p in [bogus, dir.appendingPathComponent("missing.wav").path] {
            XCTAssertThrowsError(try AudioFile.read(p)) { XCTAssertTrue("\($0)".contains(p), "\($0)") }
        }
    }
}
