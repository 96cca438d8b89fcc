import XCTest
import AVData
import TestSupport

/// Packing CSVs through SwiftCSV, including what SwiftCSV alone gets wrong: ragged rows (it pads
/// them), a trailing empty field on an unterminated last line (it drops it), an unclosed quote (it
/// reads to the end of the file) and error positions (it has none).
final class CSVTableTests: XCTestCase {
    func write(_ text: String, _ name: String) throws -> String {
        let path = TestSupport.tempDir().path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testQuotingLineEndsBOMAndLines() throws {
        let text = "\u{feff} audio ,labels,caption\r\n"
            + "a.wav,\"wind;dog bark\",\"a caption, with comma\"\r\n"
            + "\r\n"
            + "b.wav,rain,\"two\nlines, \"\"quoted\"\"\"\r\n"
            + "c.wav,wind,"                                   // no line end, empty last field
        let t = try CSVTable(path: try write(text, "q.csv"))
        XCTAssertEqual(t.header, ["audio", "labels", "caption"])
        XCTAssertEqual(t.rows, [["a.wav", "wind;dog bark", "a caption, with comma"],
                                ["b.wav", "rain", "two\nlines, \"quoted\""],
                                ["c.wav", "wind", ""]])
        XCTAssertEqual(t.lines, [2, 4, 6])
        XCTAssertEqual(t.column(["path", "audio"]), 0)
        XCTAssertNil(t.column(["file"]))
    }

    func testErrorsNameFileAndLine() throws {
        let cases: [(String, String, [String])] = [
            ("ragged.csv", "audio,labels\na.wav,dog\n\"b\nc.wav\"\nd.wav,cat\n", ["ragged.csv", "line 3", "1 fields, the header has 2"]),
            ("unclosed.csv", "audio,labels\na.wav,dog\nb.wav,\"cat\nc.wav,rain\n", ["unclosed.csv", "line 3", "never closed"]),
            ("badquote.csv", "audio,labels\na.wav,dog\n\nb.wav,\"cat\"s\n", ["badquote.csv", "line 4", "bad quoting"]),
            ("empty.csv", "\n\n", ["empty.csv", "CSV is empty"]),
        ]
        for (name, text, parts) in cases {
            let path = try write(text, name)
            XCTAssertThrowsError(try CSVTable(path: path), name) { e in
                for p in parts { XCTAssertTrue("\(e)".contains(p), "\(name): \(e)") }
            }
        }
        XCTAssertThrowsError(try CSVTable(path: "/nonexistent/x.csv")) { XCTAssertTrue("\($0)".contains("/nonexistent/x.csv")) }
    }
}
