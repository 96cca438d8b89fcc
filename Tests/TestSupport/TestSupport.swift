import Foundation
#if canImport(Glibc)
import Glibc
#endif
import AVTensor
import AVSafetensors

/// A test needs a built executable that is not there.
public struct MissingExecutable: Error, CustomStringConvertible {
    public let path: String
    public var description: String { "\(path) is not built: run `swift build -c release --build-tests` before `swift test -c release`" }
}

/// Shared helpers for avtrain's tests: fixture paths, error measures, finite differences.
public enum TestSupport {
    /// The package root (found from this file's location).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/fixtures` next to the package root.
    public static var fixturesDir: URL {
        packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }

    /// Loads a fixture file by name (e.g. "adamw.safetensors").
    public static func fixture(_ name: String) throws -> SafetensorsFile {
        try SafetensorsFile(path: fixturesDir.appendingPathComponent(name).path)
    }

    /// Folder holding the built products (avtool, avtrain) next to the running test bundle.
    public static var productsDir: URL {
        #if os(Linux)
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        #else
        return Bundle.main.bundleURL.deletingLastPathComponent()
        #endif
    }

    /// The built executable `name` (avtool, avtrain, avembed) next to the test bundle; a missing
    /// one fails the test, saying how to build it.
    public static func executable(_ name: String) throws -> String {
        let p = productsDir.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: p) else {
            throw MissingExecutable(path: p)
        }
        return p
    }

    /// `amp · sin(2π · hz · i / rate + phase)` for i in 0..<count.
    public static func tone(count: Int, rate: Int, hz: Double, amp: Double = 0.5, phase: Double = 0) -> [Float] {
        (0..<count).map { Float(amp * sin(2 * Double.pi * hz * Double($0) / Double(rate) + phase)) }
    }

    /// Whether `python3 -c 'import h5py'` works (h5py needs numpy, so numpy is there too).
    public static var h5pyAvailable: Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import h5py"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// A fresh temporary directory.
    public static func tempDir(_ tag: String = "avtrain-test") -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("\(tag)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    /// ‖a − b‖ / ‖b‖ (with ‖b‖ floored at 1e-30).
    public static func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
        var num = 0.0, den = 0.0
        for i in 0..<a.count {
            let d = Double(a[i]) - Double(b[i])
            num += d * d
            den += Double(b[i]) * Double(b[i])
        }
        return num.squareRoot() / max(den.squareRoot(), 1e-30)
    }

    /// Central finite differences of a scalar function at `x` for the coordinates in `indices`
    /// (all by default). `f` must not keep state between calls.
    public static func numericGradient(_ x: [Float], eps: Float = 1e-2, indices: [Int]? = nil,
                                       _ f: ([Float]) -> Double) -> [Float] {
        var g = [Float](repeating: 0, count: x.count)
        var y = x
        for i in indices ?? Array(0..<x.count) {
            let o = y[i]
            y[i] = o + eps; let fp = f(y)
            y[i] = o - eps; let fm = f(y)
            y[i] = o
            g[i] = Float((fp - fm) / (2 * Double(eps)))
        }
        return g
    }

    /// Random normal values.
    public static func randn(_ n: Int, seed: UInt64, std: Float = 1) -> [Float] {
        var r = Rng(seed: seed)
        return (0..<n).map { _ in r.normal() * std }
    }

    /// Runs a program, returning (exit status, stdout+stderr).
    public static func run(_ path: String, _ args: [String], env: [String: String] = [:]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        p.environment = e
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The `[frontend]` section of the tiny test runs: 8 kHz, 0.5 s clips → 32 × 32 log-mel images.
    public static let tinyFrontendTOML = """
        [frontend]
        sample_rate = 8000
        clip_samples = 4000
        n_fft = 256
        win_length = 200
        hop_length = 120
        n_mels = 32
        fmax = 4000.0
        fold = false
        image_height = 32
        image_width = 32
        """

    /// The config of the tiny test runs (tiny Swin on 32 × 32 images, batch 16, 40 steps, 1
    /// thread); `extra` is appended after the `[train]` keys.
    public static func tinyRunTOML(manifest: String, out: String, extra: String = "") -> String {
        """
        [model]
        preset = "tiny"
        [data]
        train_manifest = "\(manifest)"
        batch_per_rank = 16
        workers = 1
        \(tinyFrontendTOML)
        [loss]
        audio_text = 1.0
        audio_image = 1.0
        audio_audio = 0.5
        weak_kd = 0.5
        [optim]
        lr = 3e-3
        warmup_steps = 2
        [train]
        steps = 40
        threads = 1
        log_every = 10
        out_dir = "\(out)"
        \(extra)
        """
    }

    /// The path of `mpirun`, or nil.
    public static var mpirun: String? {
        ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Environment that lets OpenMPI run as root in containers and oversubscribe 2 cores.
    public static let mpiEnv = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                                "OMPI_MCA_rmaps_base_oversubscribe": "1"]
}

/// A program running in the background whose output can be waited on, with a time limit (signal
/// and hang tests). `finish` returns nil for a hang (the process is killed) and the status else;
/// `terminationReason` tells an exit from a signal.
public final class LiveProcess: @unchecked Sendable {
    public let process = Process()
    private let lock = NSLock()
    private var buffer = Data()
    private let pipe = Pipe()

    public init(_ path: String, _ args: [String], env: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = args
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        process.environment = e
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self else { return }
            self.lock.lock(); self.buffer.append(d); self.lock.unlock()
        }
        try process.run()
    }

    public var output: String { lock.lock(); defer { lock.unlock() }; return String(decoding: buffer, as: UTF8.self) }

    /// Waits until the output contains `text` (false after `timeout` seconds or if the process ended).
    public func wait(for text: String, timeout: Double) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if output.contains(text) { return true }
            if !process.isRunning { return output.contains(text) }
            usleep(20_000)
        }
        return false
    }

    /// Waits for the exit (killing the process after `timeout` seconds: a hang) and returns the status.
    public func finish(timeout: Double) -> Int32? {
        let end = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < end { usleep(20_000) }
        if process.isRunning { process.terminate(); kill(process.processIdentifier, SIGKILL); return nil }
        process.waitUntilExit()
        pipe.fileHandleForReading.readabilityHandler = nil
        let rest = pipe.fileHandleForReading.readDataToEndOfFile()
        lock.lock(); buffer.append(rest); lock.unlock()
        return process.terminationStatus
    }

    /// The pids of this process's children (mpirun's ranks).
    public func children() -> [pid_t] {
        let text = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/task/\(process.processIdentifier)/children",
                                encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { pid_t($0) }
    }
}


extension LiveProcess {
    /// Whether the process ended through a signal (a trap or a crash), not an exit.
    public var endedBySignal: Bool { !process.isRunning && process.terminationReason == .uncaughtSignal }
}
