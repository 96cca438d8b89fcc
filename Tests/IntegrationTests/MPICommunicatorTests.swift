import XCTest
import Foundation
import TestSupport

/// MPICommunicator under a real mpirun: collectives with real values (`avtool selftest
/// collectives`) and prompt job termination when a rank fails (`avtool selftest abort`).
final class MPICommunicatorTests: XCTestCase {
    var avtool: String { get throws { try TestSupport.executable("avtool") } }

    func testCollectivesOnTwoAndFourRanks() throws {
        let mpirun = try XCTUnwrap(TestSupport.mpirun, "mpirun not installed")
        for ranks in [2, 4] {
            let (status, out) = try TestSupport.run(mpirun, ["-n", "\(ranks)", "--oversubscribe", avtool, "selftest",
                                                             "collectives", "--count", "1000", "--bucket", "64"],
                                                    env: TestSupport.mpiEnv)
            XCTAssertEqual(status, 0, out)
            for r in 0..<ranks {
                XCTAssertTrue(out.contains("rank \(r)/\(ranks): collectives ok (16 allreduce buckets)"), out)
            }
            XCTAssertFalse(out.contains("MISMATCH"), out)
        }
    }

    /// Rank 1 throws while rank 0 waits in a barrier: MPI_Abort must end the job with a
    /// non-zero status well before the 60 s watchdog (a hang would hit it).
    func testFailingRankEndsTheJob() throws {
        let mpirun = try XCTUnwrap(TestSupport.mpirun, "mpirun not installed")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: mpirun)
        p.arguments = ["-n", "2", try avtool, "selftest", "abort"]
        p.environment = ProcessInfo.processInfo.environment.merging(TestSupport.mpiEnv) { $1 }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        let ended = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in ended.signal() }
        let start = Date()
        try p.run()
        let output = OutputCollector(pipe)
        if ended.wait(timeout: .now() + 60) == .timedOut {
            p.terminate()
            XCTFail("mpirun still running after 60 s: a failing rank left the job hanging")
            return
        }
        let seconds = Date().timeIntervalSince(start)
        let text = output.finish()
        XCTAssertNotEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("rank 1/2: aborting the job: rank 1 fails on purpose"), text)
        XCTAssertFalse(text.contains("passed the barrier"), text)
        XCTAssertLessThan(seconds, 30, "the job took \(seconds) s to end")
    }
}

/// Reads a pipe to its end on a background thread (so a chatty child never blocks).
final class OutputCollector: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)
    init(_ pipe: Pipe) {
        Thread.detachNewThread { [self] in
            data = pipe.fileHandleForReading.readDataToEndOfFile()
            done.signal()
        }
    }
    func finish() -> String { done.wait(); return String(decoding: data, as: UTF8.self) }
}
