import XCTest
import Foundation
import TestSupport

/// Runs `avtool selftest mpi` under a real `mpirun -n 2`: MPI_Allreduce across two processes.
final class MPISmokeTests: XCTestCase {
    func testAllreduceUnderMpirun() throws {
        let mpirun = try XCTUnwrap(TestSupport.mpirun, "mpirun not installed (Launch/setup.sh installs openmpi-bin)")
        let avtool = try TestSupport.executable("avtool")
        let (status, out) = try TestSupport.run(mpirun, ["-n", "2", avtool, "selftest", "mpi"], env: TestSupport.mpiEnv)
        XCTAssertEqual(status, 0, out)
        XCTAssertTrue(out.contains("rank 0/2: allreduce ok sum=3.0"), out)
        XCTAssertTrue(out.contains("rank 1/2: allreduce ok sum=3.0"), out)
    }
}

/// The BLAS kernel fix in a real executable: when OpenBLAS reports a generic core on an AVX-512
/// CPU, the program re-executes itself with OPENBLAS_CORETYPE set and logs it.
final class BLASReexecTests: XCTestCase {
    func testGenericCoreTriggersReexec() throws {
        guard BLASKernelsProbe.cpuHasAVX2 else { throw XCTSkip("CPU without AVX2: nothing better than generic exists") }
        let avtool = try TestSupport.executable("avtool")
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "OPENBLAS_CORETYPE")
        env["AVTRAIN_BLAS_ASSUME_GENERIC"] = "1"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: avtool)
        p.arguments = ["--help"]
        p.environment = env
        let pipe = Pipe(); p.standardError = pipe; p.standardOutput = Pipe()
        try p.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("re-executing with OPENBLAS_CORETYPE="), text)
        XCTAssertTrue(text.contains("(OPENBLAS_CORETYPE="), "after the re-exec the core is logged as set: \(text)")
    }
}

enum BLASKernelsProbe {
    static var cpuHasAVX2: Bool {
        ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").contains(" avx2")
    }
}
