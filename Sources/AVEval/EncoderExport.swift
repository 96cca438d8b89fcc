import Foundation
import AVFiles
import AVSafetensors

/// `avtool export`: the encoder alone, as timm names its parameters, plus `encoder.json`.
public enum EncoderExport {
    /// Writes `dir/encoder.safetensors` (only the encoder's tensors, bare timm names, F32),
    /// `dir/encoder.json` and, with `classes`, a copy of that class-embedding file as
    /// `dir/classes.safetensors` (its D checked against the encoder's). Files are written atomically.
    /// Returns the spec written.
    @discardableResult
    public static func write(_ weights: EncoderWeights, to dir: String, classes: String? = nil) throws -> EncoderSpec {
        let encoder = try weights.makeEncoder(batch: 1)       // validates names, shapes and values
        var spec = weights.spec
        var classFile: ClassEmbeddings?
        if let classes {
            let c = try ClassEmbeddings.load(classes)
            guard c.dim == spec.embeddingDim else {
                throw EvalError("\(classes): class embeddings have D = \(c.dim), the encoder outputs \(spec.embeddingDim)")
            }
            classFile = c
            spec.classEmbeddings = "classes.safetensors"
        }
        try write(tensors: encoder.timmTensors(), spec: spec, to: dir)
        if let classFile { try classFile.write(to: URL(fileURLWithPath: dir).appendingPathComponent("classes.safetensors").path) }
        return spec
    }

    /// Writes `tensors` (timm names) as `dir/encoder.safetensors` and `spec` as `dir/encoder.json`.
    public static func write(tensors: [(name: String, shape: [Int], values: [Float])], spec: EncoderSpec, to dir: String) throws {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw EvalError("\(dir): cannot create the export folder: \(error.localizedDescription)")
        }
        var w = SafetensorsWriter(metadata: ["format": "avtrain-encoder-weights", "spec": EncoderWeights.specFile])
        for t in tensors { w.add(t.name, shape: t.shape, floats: t.values) }
        let folder = URL(fileURLWithPath: dir)
        try w.write(to: folder.appendingPathComponent(EncoderWeights.weightsFile).path)
        let specPath = folder.appendingPathComponent(EncoderWeights.specFile).path
        do { try AtomicFile.write(try spec.json(), to: specPath) } catch {
            throw EvalError("\(specPath): cannot write: \(error)")
        }
    }
}
