import Foundation
import ArgumentParser
import AVSafetensors
import AVEval

/// `avtool ckpt …`: what a training checkpoint holds.
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ckpt", abstract: "Inspect training checkpoints.",
        subcommands: [CheckpointConfig.self])
}

/// `avtool ckpt config PATH`: the resolved config a checkpoint was written with, as TOML
/// (`avtrain --config <(avtool ckpt config PATH)` reproduces the run).
struct CheckpointConfig: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config",
        abstract: "Print the resolved TOML config stored in a checkpoint (or a run folder's newest).")
    @Argument(help: "Checkpoint file or run folder.") var path: String

    func run() throws {
        var isDir: ObjCBool = false
        let file = FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
            ? try Checkpoints.latest(in: path) ?? { throw ValidationError("\(path): no step-*.safetensors checkpoint in this folder") }()
            : path
        let f = try SafetensorsFile(path: file)
        guard f.metadata["format"] == "avtrain-checkpoint" else { throw ValidationError("\(file): not an avtrain checkpoint") }
        guard let toml = f.metadata["config_toml"] else {
            throw ValidationError("\(file): no config_toml metadata (written before format version 2); its JSON config: \(f.metadata["config"] ?? "none")")
        }
        print(toml, terminator: toml.hasSuffix("\n") ? "" : "\n")
    }
}
