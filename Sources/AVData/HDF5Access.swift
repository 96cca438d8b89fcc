import Foundation

/// Debian's HDF5 is the serial (not thread-safe) build: every HDF5 call in the process must come
/// from one thread at a time. AVData's readers take this lock around their HDF5 work (the loader's
/// reader thread per clip, `ShardSet` while opening); code that touches HDF5 while a loader runs
/// must take it too.
public enum HDF5Access {
    static let lock = NSRecursiveLock()

    /// Runs `body` holding the process-wide HDF5 lock.
    public static func run<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
