import Foundation

/// The checkpoint files of a run folder: `step-XXXXXXXX.safetensors`.
public enum Checkpoints {
    /// The file name of the checkpoint after `step` steps.
    public static func fileName(step: Int) -> String { String(format: "step-%08d.safetensors", step) }

    /// The path of the checkpoint after `step` steps in `dir`.
    public static func path(in dir: String, step: Int) -> String {
        URL(fileURLWithPath: dir).appendingPathComponent(fileName(step: step)).path
    }

    /// The run's checkpoints, oldest first.
    public static func list(in dir: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasPrefix("step-") && $0.hasSuffix(".safetensors") && $0.count == 25 }.sorted()
            .map { URL(fileURLWithPath: dir).appendingPathComponent($0).path }
    }

    /// The newest checkpoint, if any.
    public static func latest(in dir: String) -> String? { list(in: dir).last }

    /// Deletes all but the newest `keep` checkpoints.
    public static func prune(in dir: String, keep: Int) {
        for old in list(in: dir).dropLast(max(1, keep)) { try? FileManager.default.removeItem(atPath: old) }
    }
}
