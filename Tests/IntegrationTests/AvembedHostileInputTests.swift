import XCTest
import Foundation
import AVTensor
import AVAudio
import TestSupport
import RunFixtures

/// avembed on bad audio files, bad flags and a bad model folder.
final class AvembedHostileInputTests: XCTestCase {
    override func setUp() { Threads.set(1) }

    /// avembed: a missing and a corrupt file get one line each naming them, the good file is
    /// still embedded, exit status 1; bad flags and a bad model exit 2 with a message.
    func testAvembedBadFilesAndFlags() throws {
        let run = try EvalFixtures.train(momentum: false)
        let avembed = try TestSupport.executable("avembed")
        let dir = TestSupport.tempDir("hostile-avembed").path
        let good = dir + "/good.wav", corrupt = dir + "/corrupt.wav", empty = dir + "/empty.wav"
        try AudioFile.write(good, samples: EvalFixtures.sound(1, variant: 0, seconds: 0.7, rate: 16000), sampleRate: 16000)
        try Data("RIFF\u{10}\0\0\0WAVEfmt ".utf8).write(to: URL(fileURLWithPath: corrupt))
        try Data().write(to: URL(fileURLWithPath: empty))
        let out = dir + "/e.csv"
        var (status, text) = try TestSupport.run(avembed, ["--model", run.out, "--format", "csv", "--out", out, good, dir + "/missing.wav",
                                                           corrupt, empty])
        XCTAssertEqual(status, 1, text)
        for f in ["missing.wav", "corrupt.wav", "empty.wav"] { XCTAssertTrue(text.contains(f), text) }
        XCTAssertTrue(text.contains("3 of 4 file(s) could not be embedded"), text)
        let rows = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 2)
        XCTAssertTrue(rows[1].hasPrefix(good + ","))
        for bad in [["--batch", "0"], ["--top", "-1"], ["--format", "npy"], ["--hop", "nan"], ["--threads", "99999"]] {
            (status, text) = try TestSupport.run(avembed, ["--model", run.out] + bad + [good])
            XCTAssertNotEqual(status, 0, "\(bad): \(text)")
            XCTAssertFalse(text.contains("Fatal error"), text)
        }
        (status, text) = try TestSupport.run(avembed, ["--model", dir, good])
        XCTAssertEqual(status, 2, text)
        XCTAssertTrue(text.contains(dir), text)
        // npy output: a float32 [1, 16] array and its file list.
        (status, text) = try TestSupport.run(avembed, ["--model", run.out, "--format", "npy", "--out", dir + "/e.npy", good])
        XCTAssertEqual(status, 0, text)
        let npy = try Data(contentsOf: URL(fileURLWithPath: dir + "/e.npy"))
        XCTAssertEqual(npy.count % 64, 0)
        XCTAssertEqual(npy.count, 128 + 64)
        XCTAssertEqual(try String(contentsOfFile: dir + "/e.npy.files.txt", encoding: .utf8), good + "\n")
    }
}
