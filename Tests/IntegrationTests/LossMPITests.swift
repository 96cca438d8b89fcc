import XCTest
import Foundation
import TestSupport

/// `avtool selftest losses` under a real mpirun: on every rank the distributed loss and the
/// gradient of its own clips equal the single-process global-batch values (relative error ≤ 1e-5).
final class LossMPITests: XCTestCase {
    func check(ranks: Int) throws {
        let mpirun = try XCTUnwrap(TestSupport.mpirun, "mpirun not installed (Launch/setup.sh installs openmpi-bin)")
        let avtool = try TestSupport.executable("avtool")
        let (status, out) = try TestSupport.run(mpirun, ["-n", "\(ranks)", "--oversubscribe", avtool, "selftest", "losses",
                                                         "--batch", "16"], env: TestSupport.mpiEnv)
        XCTAssertEqual(status, 0, out)
        let names = ["audio_text", "audio_image", "audio_audio", "weak_kd", "momentum_kd", "total"]
        for rank in 0..<ranks {
            XCTAssertTrue(out.contains("rank \(rank)/\(ranks): losses ok"), out)
            for name in names {
                let prefix = "rank \(rank)/\(ranks): \(name) value="
                let line = try XCTUnwrap(out.split(separator: "\n").first { $0.hasPrefix(prefix) }, "no line \(prefix)\n\(out)")
                let errors = line.split(separator: " ").filter { $0.hasPrefix("err_") }
                XCTAssertEqual(errors.count, 4, String(line))
                for e in errors {
                    let v = try XCTUnwrap(Double(e.split(separator: "=")[1]), String(e))
                    XCTAssertLessThanOrEqual(v, 1e-5, String(line))
                }
                XCTAssertTrue(line.hasSuffix(" ok"), String(line))
            }
        }
    }

    func testTwoRanks() throws { try check(ranks: 2) }
    func testFourRanks() throws { try check(ranks: 4) }
}
