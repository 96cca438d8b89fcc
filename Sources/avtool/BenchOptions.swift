import ArgumentParser
import AVModel
import Foundation

/// The thread counts a throughput benchmark measures (`--threads 1 2`), one block of rows per count.
struct BenchThreads: ParsableArguments {
    @Option(parsing: .upToNextOption, help: "Thread counts to measure, space-separated (bench loader: feature threads).")
    var threads: [Int] = [1, 2]

    func validate() throws {
        guard !threads.isEmpty else { throw ValidationError("--threads needs at least one count") }
        for t in threads where !(1...256).contains(t) { throw ValidationError("--threads: each count must be in 1...256, got \(t)") }
    }
}

/// `--compare`: the same work timed in PyTorch/timm in the same run (a script under `bench/reference/`).
struct PyTorchComparison: ParsableArguments {
    @Flag(help: "Also time PyTorch/timm on the same work (bench/reference/*_timm.py; needs python3, torch and timm).")
    var compare = false
}

/// Runs `python3 bench/reference/<script> args…` (from the repository root) and returns the numbers
/// of the JSON object on its last `{` line, or nil (with a line saying so) when it could not run.
func runReference(_ script: String, _ args: [String]) throws -> [String: Double]? {
    let path = "bench/reference/" + script
    guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("\(path) not found (run from the repository root)") }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", path] + args
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    guard p.terminationStatus == 0, let line = out.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
          let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        print("reference \(path) did not run (are its Python packages installed? see the script's header)")
        return nil
    }
    return json.compactMapValues { ($0 as? NSNumber)?.doubleValue }
}

/// Throws a usage error naming `--flag` unless `value` lies in `range` (NaN never does).
func check<T: Comparable>(_ value: T, in range: ClosedRange<T>, _ flag: String) throws {
    guard range.contains(value) else { throw ValidationError("--\(flag) must be in \(range.lowerBound)...\(range.upperBound), got \(value)") }
}

/// Throws a usage error unless `name` is a Swin preset, listing them.
func checkPreset(_ name: String) throws {
    guard SwinConfig.preset(name) != nil else {
        throw ValidationError("unknown preset '\(name)'; choose one of \(SwinConfig.presetNames.joined(separator: ", "))")
    }
}
