import XCTest
import AVHDF5
import TestSupport

/// HDF5 smoke test: write and read back float32, float16, int16 and int32 datasets.
final class HDF5Tests: XCTestCase {
    func testRoundTrip() throws {
        let path = TestSupport.tempDir().appendingPathComponent("rt.h5").path
        let wave: [Int16] = (0..<60).map { Int16($0 * 500 - 15000) }
        let emb: [Float] = TestSupport.randn(3 * 2 * 4, seed: 1)
        do {
            let f = try H5File(createAt: path)
            try f.createDataset("waveform", type: .int16, dims: [3, 20], chunk: [1, 20], gzip: 4).write(wave)
            try f.createDataset("emb32", type: .float32, dims: [3, 2, 4]).write(emb)
            try f.createDataset("emb16", type: .float16, dims: [3, 2, 4], chunk: [2, 2, 4]).write(emb)
            try f.createDataset("label", type: .int32, dims: [3]).write([Int32(4), 0, -2])
        }
        let f = try H5File(openAt: path)
        XCTAssertEqual(try f.dataset("waveform").dims, [3, 20])
        XCTAssertEqual(try f.dataset("waveform").read(as: Int16.self), wave)
        XCTAssertEqual(try f.dataset("waveform").read(as: Int16.self, start: 1, rows: 1), Array(wave[20..<40]))
        XCTAssertEqual(try f.dataset("emb32").read(as: Float.self), emb)
        let half = try f.dataset("emb16").read(as: Float.self)
        for i in 0..<emb.count { XCTAssertEqual(half[i], emb[i], accuracy: abs(emb[i]) * 1e-3 + 1e-4) }
        XCTAssertEqual(try f.dataset("label").read(as: Int32.self), [4, 0, -2])
        XCTAssertThrowsError(try f.dataset("nope")) { XCTAssertTrue("\($0)".contains("nope") && "\($0)".contains(path)) }
        XCTAssertThrowsError(try f.dataset("label").read(as: Int32.self, start: 2, rows: 5))
    }

    func testNotHDF5IsAClearError() throws {
        let path = TestSupport.tempDir().appendingPathComponent("bad.h5").path
        try "nope".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try H5File(openAt: path)) { XCTAssertTrue("\($0)".contains(path)) }
    }
}
