import XCTest
import Foundation
import TestSupport

/// `avtool bench swin` runs end to end on the tiny preset (a smoke test, not a timing test) and
/// rejects bad options with a clear message.
final class BenchSwinSmokeTests: XCTestCase {
    func testBenchRunsAndRejectsBadPreset() throws {
        let avtool = try TestSupport.executable("avtool")
        let (status, out) = try TestSupport.run(avtool, ["bench", "swin", "--preset", "tiny", "--batch", "2", "--steps", "1",
                                                         "--threads", "1", "--gemm", "blas", "rows"])
        XCTAssertEqual(status, 0, out)
        XCTAssertTrue(out.contains("MiB per sample"), out)
        XCTAssertTrue(out.contains("      1  blas") && out.contains("      1  rows"), out)
        let (bad, msg) = try TestSupport.run(avtool, ["bench", "swin", "--preset", "swin-xl"])
        XCTAssertNotEqual(bad, 0)
        XCTAssertTrue(msg.contains("unknown preset 'swin-xl'"), msg)
        let (odd, oddMsg) = try TestSupport.run(avtool, ["bench", "swin", "--preset", "tiny", "--image", "68x64", "--memory-only"])
        XCTAssertNotEqual(odd, 0)
        XCTAssertTrue(oddMsg.contains("17×16"), oddMsg)
        // Lists are space-separated; a bad count or mode is a usage error naming the flag.
        for (args, flag) in [(["--threads", "0"], "--threads"), (["--threads", "1,2"], "--threads"), (["--gemm", "cols"], "--gemm"),
                             (["--image", "64"], "--image")] {
            let (status, text) = try TestSupport.run(avtool, ["bench", "swin", "--preset", "tiny", "--memory-only"] + args)
            XCTAssertNotEqual(status, 0, "\(args)")
            XCTAssertTrue(text.contains(flag), "\(args): \(text)")
        }
    }
}
