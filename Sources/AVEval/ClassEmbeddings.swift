import Foundation
import AVSafetensors

/// CLIP text embeddings of class prompts ("This is a sound of {class}."), made at preparation time
/// (`avtool data synth`, `Datasets/clip_embeddings.py classes`): a safetensors file with
/// `class_embedding` [C, D] — or [C, P, D] for P prompts per class, averaged — and metadata
/// `class_names` (a JSON list of C names). Rows are L2-normalised on load.
public struct ClassEmbeddings: Sendable {
    public let path: String
    public let names: [String]
    public let dim: Int
    /// C × D unit rows.
    public let rows: [Float]
    /// Prompts averaged per class (1 for a [C, D] file).
    public let prompts: Int

    public var count: Int { names.count }

    public init(path: String, names: [String], dim: Int, rows: [Float], prompts: Int = 1) {
        self.path = path; self.names = names; self.dim = dim; self.rows = rows; self.prompts = prompts
    }

    /// Reads and checks a class-embedding file; errors name the file and what is wrong.
    public static func load(_ path: String) throws -> ClassEmbeddings {
        let f = try SafetensorsFile(path: path)
        guard let e = f.entries["class_embedding"] else {
            throw EvalError("\(path): no 'class_embedding' tensor (tensors: \(f.names.prefix(5).joined(separator: ", ")))")
        }
        guard e.shape.count == 2 || e.shape.count == 3, e.shape.allSatisfy({ $0 > 0 }) else {
            throw EvalError("\(path): 'class_embedding' has shape \(e.shape), expected [C, D] or [C, prompts, D]")
        }
        guard let json = f.metadata["class_names"] else { throw EvalError("\(path): metadata 'class_names' is missing") }
        guard let names = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String] else {
            throw EvalError("\(path): metadata 'class_names' is not a JSON list of strings")
        }
        let c = e.shape[0], p = e.shape.count == 3 ? e.shape[1] : 1, d = e.shape.last!
        guard names.count == c else { throw EvalError("\(path): \(names.count) class names but 'class_embedding' has \(c) rows") }
        if let dup = Dictionary(grouping: names, by: ClassEmbeddings.key).first(where: { $0.value.count > 1 }) {
            throw EvalError("\(path): class name '\(dup.value[0])' appears \(dup.value.count) times")
        }
        let raw = try f.floats("class_embedding")
        var rows = [Float](repeating: 0, count: c * d)
        for i in 0..<c {
            for j in 0..<p { for k in 0..<d { rows[i * d + k] += raw[(i * p + j) * d + k] } }
            let row = rows[(i * d)..<((i + 1) * d)]
            guard row.allSatisfy(\.isFinite) else { throw EvalError("\(path): class '\(names[i])' (row \(i)) has a non-finite value") }
            guard row.contains(where: { $0 != 0 }) else { throw EvalError("\(path): class '\(names[i])' (row \(i)) has a zero-norm embedding") }
        }
        return ClassEmbeddings(path: path, names: names, dim: d, rows: normalizedRows(rows, dim: d), prompts: p)
    }

    /// The comparison key of a class name: lower case, `_` read as a space, spaces folded.
    public static func key(_ name: String) -> String {
        name.replacingOccurrences(of: "_", with: " ").lowercased().split(separator: " ").joined(separator: " ")
    }

    /// The rows for `classes` (a dataset's class names, in its label order), matched by `key`.
    /// Every dataset class must be in the file (else an error listing the missing ones); extra
    /// classes in the file are left out. Returns the C' × D rows and how many were left out.
    public func aligned(to classes: [String], dataset: String) throws -> (rows: [Float], unused: Int) {
        var index: [String: Int] = [:]
        for (i, n) in names.enumerated() { index[ClassEmbeddings.key(n)] = i }
        let missing = classes.filter { index[ClassEmbeddings.key($0)] == nil }
        guard missing.isEmpty else {
            throw EvalError("\(path): no embedding for \(missing.count) of \(dataset)'s \(classes.count) classes: "
                            + missing.prefix(8).map { "'\($0)'" }.joined(separator: ", ") + (missing.count > 8 ? ", …" : "")
                            + " (file classes: \(names.prefix(8).joined(separator: ", "))\(names.count > 8 ? ", …" : ""))")
        }
        var out: [Float] = []
        out.reserveCapacity(classes.count * dim)
        for c in classes { if let i = index[ClassEmbeddings.key(c)] { out += rows[(i * dim)..<((i + 1) * dim)] } }
        return (out, names.count - classes.count)
    }

    /// Writes the (normalised) rows as `class_embedding` [C, D] with `class_names`.
    public func write(to path: String) throws {
        let names = String(decoding: try JSONEncoder().encode(self.names), as: UTF8.self)
        var w = SafetensorsWriter(metadata: ["class_names": names, "prompt": "This is a sound of {class}.",
                                             "source": (self.path as NSString).lastPathComponent])
        w.add("class_embedding", shape: [count, dim], floats: rows)
        try w.write(to: path)
    }
}
