import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Makes sure OpenBLAS runs kernels that fit the CPU.
///
/// Debian's OpenBLAS 0.3.21 does not recognise recent CPUs (e.g. AMD Zen 4) and falls back to its
/// generic "Prescott" kernels, 7× slower than its AVX-512 ones. The kernel set is chosen when the
/// library loads, so the only fix from inside a process is to set `OPENBLAS_CORETYPE` and re-exec
/// the same binary (same pid, so `mpirun` is unaffected). Every executable calls
/// `ensureOptimisedKernels()` first thing in `main`.
public enum BLASKernels {
    /// Kernel sets that already use AVX2 or better.
    static let vectorCores: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"]

    /// The CPU feature flags from /proc/cpuinfo (empty where that file does not exist).
    public static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            if let colon = line.firstIndex(of: ":") {
                return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
            }
        }
        return []
    }

    /// The OpenBLAS core type that best fits `flags`, or nil when nothing better than generic exists.
    public static func bestCoreType(flags: Set<String>) -> String? {
        if flags.contains("avx512f") { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }

    /// Whether the loaded kernel set is weaker than what the CPU supports; returns the fix if so.
    /// `AVTRAIN_BLAS_ASSUME_GENERIC=1` treats the loaded core as generic (to exercise the re-exec
    /// path on machines where OpenBLAS recognises the CPU).
    public static func suggestedCoreType() -> String? {
        let core = BLAS.coreName.lowercased()
        let forced = getenv("AVTRAIN_BLAS_ASSUME_GENERIC").map { String(cString: $0) == "1" } ?? false
        if vectorCores.contains(core) && !forced { return nil }
        return bestCoreType(flags: cpuFlags())
    }

    /// True when this process is rank 0 or not under a launcher (used to log once per job).
    public static var isLeadProcess: Bool {
        for key in ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"] {
            if let v = getenv(key) { return String(cString: v) == "0" }
        }
        return true
    }

    /// Re-executes the process with `OPENBLAS_CORETYPE` set when OpenBLAS picked generic kernels on
    /// a CPU with AVX2/AVX-512, then logs the kernel set in use (one line, lead process only).
    /// `quiet` suppresses the log line (for programs whose stdout/stderr is data, e.g. avembed).
    public static func ensureOptimisedKernels(program: String, quiet: Bool = false) {
        let explicit = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
        if explicit == nil, getenv("AVTRAIN_BLAS_REEXEC") == nil, let fix = suggestedCoreType() {
            setenv("OPENBLAS_CORETYPE", fix, 1)
            setenv("AVTRAIN_BLAS_REEXEC", "1", 1)
            if !quiet && isLeadProcess {
                log("\(program): OpenBLAS chose generic '\(BLAS.coreName)' kernels on a CPU with "
                    + "\(fix == "SkylakeX" ? "AVX-512" : "AVX2"); re-executing with OPENBLAS_CORETYPE=\(fix)")
            }
            let args = CommandLine.arguments
            var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
            cargs.append(nil)
            execv("/proc/self/exe", &cargs)
            log("\(program): re-exec failed (errno \(errno)); continuing with '\(BLAS.coreName)' kernels")
            return
        }
        if !quiet && isLeadProcess {
            let how = explicit.map { "OPENBLAS_CORETYPE=\($0)" } ?? "auto-detected"
            log("\(program): BLAS OpenBLAS core \(BLAS.coreName) (\(how)), \(BLAS.threads) thread(s); kernels \(Kernels.active)")
        }
    }

    static func log(_ s: String) {
        fputs(s + "\n", stderr)
    }
}
