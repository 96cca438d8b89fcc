import Foundation
import AVModel
import AVSafetensors

/// An encoder on disk: its spec and the safetensors file holding its weights, from an export folder
/// (`encoder.json` + `encoder.safetensors`), a training checkpoint, or a run folder (its newest
/// checkpoint). The file is memory-mapped, so only the tensors the encoder needs are read (a
/// checkpoint's optimiser moments are never touched).
public struct EncoderWeights {
    /// File names inside an export folder.
    public static let specFile = "encoder.json", weightsFile = "encoder.safetensors"

    public let spec: EncoderSpec
    public let file: SafetensorsFile
    /// Prefix of the encoder's tensors in `file`: "" (export), "model." or "ema." (checkpoint).
    public let prefix: String
    /// The export folder or checkpoint path, for messages.
    public let origin: String

    /// Opens `path`: an export folder, a checkpoint file, or a run folder (newest checkpoint).
    /// `ema` picks a checkpoint's EMA weights (an export must have been made with `--ema`).
    public static func open(_ path: String, ema: Bool = false) throws -> EncoderWeights {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw EvalError("\(path): no such export folder or checkpoint")
        }
        if isDir.boolValue {
            let specPath = URL(fileURLWithPath: path).appendingPathComponent(specFile).path
            if FileManager.default.fileExists(atPath: specPath) { return try openExport(path, ema: ema) }
            guard let latest = Checkpoints.latest(in: path) else {
                throw EvalError("\(path): neither an export folder (no \(specFile)) nor a run folder (no step-*.safetensors)")
            }
            return try openCheckpoint(latest, ema: ema)
        }
        return try openCheckpoint(path, ema: ema)
    }

    static func openExport(_ dir: String, ema: Bool) throws -> EncoderWeights {
        let specPath = URL(fileURLWithPath: dir).appendingPathComponent(specFile).path
        guard let data = FileManager.default.contents(atPath: specPath) else { throw EvalError("\(specPath): cannot read") }
        let spec = try EncoderSpec.decode(data, origin: specPath)
        if ema && !spec.source.ema {
            throw EvalError("\(dir): exported from the live weights, not EMA (export again with --ema, or pass the checkpoint)")
        }
        let file = try SafetensorsFile(path: URL(fileURLWithPath: dir).appendingPathComponent(weightsFile).path)
        return EncoderWeights(spec: spec, file: file, prefix: "", origin: dir)
    }

    static func openCheckpoint(_ path: String, ema: Bool) throws -> EncoderWeights {
        let file = try SafetensorsFile(path: path)
        guard file.metadata["format"] == "avtrain-checkpoint" else {
            if file.metadata["format"] == "avtrain-encoder-weights" {
                throw EvalError("\(path): this is an export's weight file; pass its folder (with \(specFile))")
            }
            throw EvalError("\(path): not an avtrain checkpoint (metadata 'format' is \(file.metadata["format"].map { "'\($0)'" } ?? "missing"))")
        }
        guard let json = file.metadata["encoder"] else {
            throw EvalError("\(path): checkpoint has no 'encoder' metadata (written before export support); "
                            + "resume it for one step to write a checkpoint that has it")
        }
        var spec = try EncoderSpec.decode(Data(json.utf8), origin: "\(path) metadata 'encoder'")
        guard let step = file.metadata["step"].flatMap(Int.init), step >= 0 else {
            throw EvalError("\(path): metadata 'step' is missing or not a non-negative integer")
        }
        if ema && file.entries["ema.head.fc.weight"] == nil {
            throw EvalError("\(path): checkpoint holds no EMA weights (momentum_kd was 0 in that run); drop --ema")
        }
        spec.source = .init(checkpoint: path, step: step, ema: ema)
        if let raw = try? file.floats("logit_scale"), raw.count == 1, raw[0].isFinite { spec.logitScale = min(expf(raw[0]), 100) }
        return EncoderWeights(spec: spec, file: file, prefix: ema ? "ema." : "model.", origin: path)
    }

    /// Copies every parameter of `encoder` from the file (shapes checked). Every parameter must be
    /// present; in an export nothing else may be (else encoder.json disagrees with the weights).
    public func load(into encoder: SwinEncoder) throws {
        let p = encoder.params
        for v in p.views {
            let name = prefix + v.name
            guard let e = file.entries[name] else {
                throw EvalError("\(file.path): tensor '\(name)' is missing (the model in \(prefix.isEmpty ? EncoderWeights.specFile : "the checkpoint's metadata") needs it)")
            }
            guard e.shape == v.shape else {
                throw EvalError("\(file.path): tensor '\(name)' has shape \(e.shape), the model described by "
                                + "\(prefix.isEmpty ? EncoderWeights.specFile : "the metadata") needs \(v.shape)")
            }
            let dst = UnsafeMutableBufferPointer(start: p.value(v), count: v.count)
            try file.readFloats(name, into: dst)
            if let bad = dst.firstIndex(where: { !$0.isFinite }) {
                throw EvalError("\(file.path): tensor '\(name)' holds a non-finite value at element \(bad)")
            }
        }
        if prefix.isEmpty, let extra = file.names.first(where: { p.view($0) == nil }) {
            throw EvalError("\(file.path): tensor '\(extra)' is not a parameter of the model in \(EncoderWeights.specFile) (they disagree)")
        }
    }

    /// Refuses, before anything is allocated, a spec whose model could not come from this file
    /// (more weights than the file holds even at 16 bits) or whose buffers for `batch` windows
    /// would not fit in this machine's memory.
    func checkSizes(batch: Int) throws {
        let m = spec.model
        var weights = Double(m.embedDim * m.patchSize * m.patchSize)       // a lower bound: matrices only
        for (s, depth) in m.depths.enumerated() {
            let d = Double(m.embedDim) * pow(2, Double(s))
            weights += Double(depth) * (4 * d * d + 2 * d * d * Double(m.mlpRatio))
            if s > 0 { weights += 2 * d * d }
        }
        let fileBytes = Double(file.entries.values.reduce(0) { $0 + ($1.end - $1.begin) })
        guard weights * 2 <= fileBytes else {
            throw EvalError(String(format: "%@: the model described (≥ %.3g weights) is larger than the %.0f bytes of tensors in %@ "
                                   + "(the description and the weights disagree)", origin, weights, fileBytes, file.path))
        }
        let need = m.estimatedActivationBytes(batch: batch, forwardOnly: true) + 4 * weights
        let have = Double(ProcessInfo.processInfo.physicalMemory)
        guard need < have else {
            throw EvalError(String(format: "%@: the model needs about %.1f GB for batch %d (input %@), this machine has %.1f GB; use a smaller batch",
                                   origin, need / 1e9, batch, "\(m.imageSize)", have / 1e9))
        }
    }

    /// A forward-only encoder for up to `batch` windows, loaded with these weights.
    public func makeEncoder(batch: Int) throws -> SwinEncoder {
        try checkSizes(batch: batch)
        let enc: SwinEncoder
        do { enc = try SwinEncoder(config: spec.model, batch: batch, forwardOnly: true, initialize: false) } catch {
            throw EvalError("\(origin): the model it describes cannot be built: \(error)")
        }
        try load(into: enc)
        return enc
    }
}
