import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A run's output folder, claimed by rank 0 before the first step: created, proven writable
/// (a probe file is created, written, fsynced and deleted), locked against a second run
/// (`.avtrain.lock`: an flock held for the run's life, holding pid, host and start time; a lock
/// left by a process that died is taken over with a warning), and cleared of temporary files
/// that a killed checkpoint write left behind.
public final class RunDirectory {
    public static let lockName = ".avtrain.lock"
    public let path: String
    private var lockFD: Int32 = -1

    /// Claims `path`; `log` receives warnings (stale lock taken over, temporaries removed).
    public init(path: String, log: (String) -> Void) throws {
        self.path = path
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw TrainError("[train] out_dir \(path): cannot create it: \(error.localizedDescription)")
        }
        try RunDirectory.probeWritable(path)
        let lock = path + "/" + RunDirectory.lockName
        let fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TrainError("\(lock): cannot open the run lock: \(String(cString: strerror(errno)))") }
        let previous = RunDirectory.readAll(fd)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw TrainError("[train] out_dir \(path) is in use by another run (\(previous.isEmpty ? "lock held" : previous)); "
                             + "give this run another out_dir, or stop that one first")
        }
        if !previous.isEmpty { log("warning: taking over the lock of a run that is gone (\(previous)) in \(path)") }
        let me = "pid \(getpid()) on host \(ProcessInfo.processInfo.hostName), started \(ISO8601DateFormatter().string(from: Date()))"
        _ = ftruncate(fd, 0)
        _ = me.withCString { pwrite(fd, $0, strlen($0), 0) }
        lockFD = fd
        for t in removeStaleTemporaries() { log("removed \(t), left by an interrupted write") }
    }

    deinit { release() }

    /// Removes the lock (at the end of the run; also on deinit).
    public func release() {
        guard lockFD >= 0 else { return }
        unlink(path + "/" + RunDirectory.lockName)
        flock(lockFD, LOCK_UN)
        close(lockFD)
        lockFD = -1
    }

    /// Creates, writes, fsyncs and deletes a probe file in `dir`; throws naming the folder otherwise.
    public static func probeWritable(_ dir: String) throws {
        let probe = dir + "/.avtrain-probe-\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw TrainError("[train] out_dir \(dir) is not writable: \(String(cString: strerror(errno)))") }
        let ok = "probe".withCString { write(fd, $0, 5) } == 5 && fsync(fd) == 0
        let err = String(cString: strerror(errno))
        close(fd)
        unlink(probe)
        guard ok else { throw TrainError("[train] out_dir \(dir): a test write failed: \(err)") }
    }

    /// Deletes `.NAME.tmp-PID` files (what `AtomicFile` leaves when killed mid-write); returns them.
    @discardableResult
    public func removeStaleTemporaries() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let stale = names.filter { $0.hasPrefix(".") && $0.contains(".tmp-") }.map { path + "/" + $0 }
        for f in stale { unlink(f) }
        return stale
    }

    static func readAll(_ fd: Int32) -> String {
        var buf = [CChar](repeating: 0, count: 512)
        let n = pread(fd, &buf, 511, 0)
        return n > 0 ? String(cString: buf).trimmingCharacters(in: .whitespacesAndNewlines) : ""
    }
}
