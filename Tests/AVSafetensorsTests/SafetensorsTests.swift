import XCTest
import Foundation
import AVSafetensors
import TestSupport

final class SafetensorsTests: XCTestCase {
    func roundTripFile() throws -> (String, SafetensorsWriter) {
        var w = SafetensorsWriter(metadata: ["format": "pt", "note": "avtrain"])
        w.add("a.f32", shape: [2, 3], floats: [1, -2, 3.5, 0, 1e-8, -7])
        w.add("b.f16", shape: [4], floats: [1, -2, 0.5, 65504], as: .f16)
        w.add("c.bf16", shape: [2], floats: [3.140625, -0.5], as: .bf16)
        w.add("d.i32", shape: [3], ints: [1, -5, 1 << 30], as: .i32)
        w.add("e.i64", shape: [2], ints: [Int64.max, -1], as: .i64)
        w.add("f.bool", shape: [3], ints: [1, 0, 1], as: .bool)
        w.add("g.empty", shape: [0, 4], floats: [])
        let path = TestSupport.tempDir().appendingPathComponent("rt.safetensors").path
        try w.write(to: path)
        return (path, w)
    }

    func testRoundTripAllDtypes() throws {
        let (path, _) = try roundTripFile()
        let f = try SafetensorsFile(path: path)
        XCTAssertEqual(f.metadata, ["format": "pt", "note": "avtrain"])
        XCTAssertEqual(f.names, ["a.f32", "b.f16", "c.bf16", "d.i32", "e.i64", "f.bool", "g.empty"])
        XCTAssertEqual(try f.floats("a.f32"), [1, -2, 3.5, 0, 1e-8, -7])
        XCTAssertEqual(try f.entry("a.f32").shape, [2, 3])
        XCTAssertEqual(try f.floats("b.f16"), [1, -2, 0.5, 65504])
        XCTAssertEqual(try f.floats("c.bf16"), [3.140625, -0.5])
        XCTAssertEqual(try f.ints("d.i32"), [1, -5, 1 << 30])
        XCTAssertEqual(try f.ints("e.i64"), [Int64.max, -1])
        XCTAssertEqual(try f.ints("f.bool"), [1, 0, 1])
        XCTAssertEqual(try f.entry("f.bool").dtype, .bool)
        XCTAssertEqual(try f.floats("g.empty"), [])
        XCTAssertThrowsError(try f.floats("missing")) { XCTAssertTrue("\($0)".contains("missing")) }
    }

    func testHeaderIsPaddedAndSorted() throws {
        let (path, _) = try roundTripFile()
        let d = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = d.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        XCTAssertEqual(n % 8, 0)
    }

    func testBF16Rounding() {
        XCTAssertEqual(HalfFloat.fromBF16(HalfFloat.toBF16(1.00390625)), 1.0)      // tie → even
        XCTAssertEqual(HalfFloat.fromBF16(HalfFloat.toBF16(1.01171875)), 1.015625)  // tie → even (up)
        XCTAssertTrue(HalfFloat.fromBF16(HalfFloat.toBF16(.nan)).isNaN)
    }

    /// Builds a file from a raw header string and data bytes.
    func raw(_ header: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> Data {
        var d = Data()
        let h = Data(header.utf8)
        withUnsafeBytes(of: (headerLength ?? UInt64(h.count)).littleEndian) { d.append(contentsOf: $0) }
        d.append(h)
        d.append(contentsOf: data)
        return d
    }

    func testRejectsMalformedFiles() throws {
        let eight = [UInt8](repeating: 0, count: 8)
        let cases: [(String, Data, String)] = [
            ("empty", Data(), "shorter than"),
            ("short", Data([1, 2, 3]), "shorter than"),
            ("huge header", raw("{}", headerLength: 1 << 40), "exceeds"),
            ("header past end", raw("{}", headerLength: 100), "past the end"),
            ("not json", raw("{not json"), "not valid JSON"),
            ("not object", raw("[1,2]"), "start with"),
            ("missing dtype", raw(#"{"t":{"shape":[2],"data_offsets":[0,8]}}"#, data: eight), "missing dtype"),
            ("bad dtype", raw(#"{"t":{"dtype":"F99","shape":[2],"data_offsets":[0,8]}}"#, data: eight), "unsupported dtype"),
            ("negative dim", raw(#"{"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: eight), "bad dimension"),
            ("fractional dim", raw(#"{"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}"#, data: eight), "bad dimension"),
            ("overflowing shape", raw(#"{"t":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}"#, data: eight), "more elements"),
            ("offsets reversed", raw(#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: eight), "not ordered"),
            ("offsets past end", raw(#"{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: eight), "past the"),
            ("size mismatch", raw(#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight), "needs 12"),
            ("overlap", raw(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight), "overlap"),
            ("gap", raw(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight), "unclaimed"),
            ("trailing", raw(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: eight), "trailing"),
            ("bad offsets", raw(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":"x"}}"#, data: eight), "data_offsets"),
            ("bad metadata", raw(#"{"__metadata__":{"k":3}}"#), "__metadata__"),
            ("entry not object", raw(#"{"a":5}"#), "not an object"),
        ]
        for (name, data, expect) in cases {
            XCTAssertThrowsError(try SafetensorsFile(data: data, path: "case-\(name)"), name) { err in
                let msg = "\(err)"
                XCTAssertTrue(msg.contains("case-\(name)"), "\(name): error must name the file: \(msg)")
                XCTAssertTrue(msg.contains(expect), "\(name): expected '\(expect)' in: \(msg)")
            }
        }
    }

    func testRejectsTruncationsAndBitFlipsWithoutCrashing() throws {
        let (path, _) = try roundTripFile()
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        // Every truncation is an error (the format has no optional tail).
        for len in stride(from: 0, to: good.count, by: 3) {
            XCTAssertThrowsError(try SafetensorsFile(data: good.prefix(len), path: "trunc-\(len)"), "truncated to \(len)")
        }
        // Random corruption of the header: either a clean error or a valid file, never a crash.
        var rng = SystemRandomNumberGenerator()
        var rejected = 0
        for _ in 0..<500 {
            var d = good
            let i = Int.random(in: 0..<min(d.count, 8 + 300), using: &rng)
            d[i] = UInt8.random(in: 0...255, using: &rng)
            if (try? SafetensorsFile(data: d, path: "flip")) == nil { rejected += 1 }
        }
        XCTAssertGreaterThan(rejected, 100)
    }

    func testMissingFileNamesPath() {
        XCTAssertThrowsError(try SafetensorsFile(path: "/nonexistent/x.safetensors")) {
            XCTAssertTrue("\($0)".contains("/nonexistent/x.safetensors"))
        }
    }

    func testLoadsEverySharedFixture() throws {
        for name in ["adamw", "losses", "mel", "swin_tiny"] {
            let f = try TestSupport.fixture("\(name).safetensors")
            XCTAssertFalse(f.names.isEmpty, name)
            for n in f.names { _ = try f.floats(n) }
        }
        let swin = try TestSupport.fixture("swin_tiny.safetensors")
        XCTAssertEqual(try swin.entry("patch_embed.proj.weight").shape, [16, 1, 4, 4])
        XCTAssertNotNil(swin.metadata["img_size"])
    }
}
