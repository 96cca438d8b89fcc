import Foundation
import AVFiles
import AVSafetensors

/// How `avembed` writes embeddings: one row per embedded file, in the order given.
public enum EmbeddingFormat: String, CaseIterable, Sendable {
    /// `[{"file": …, "embedding": [...]}, …]`
    case json
    /// `file,e0,e1,…` with a header row.
    case csv
    /// A float32 `.npy` array [N, D] (C order, format 1.0); the files are listed in `PATH.files.txt`.
    case npy

    /// The bytes of `rows` (N × dim) for `files`.
    public func encode(files: [String], rows: [Float], dim: Int) -> Data {
        switch self {
        case .json:
            var s = "[\n"
            for (i, f) in files.enumerated() {
                let v = rows[(i * dim)..<((i + 1) * dim)].map { "\($0)" }.joined(separator: ", ")
                let name = String(decoding: (try? JSONEncoder().encode(f)) ?? Data("\"\"".utf8), as: UTF8.self)
                s += "  {\"file\": \(name), \"embedding\": [\(v)]}\(i + 1 < files.count ? "," : "")\n"
            }
            return Data((s + "]\n").utf8)
        case .csv:
            var s = (["file"] + (0..<dim).map { "e\($0)" }).joined(separator: ",") + "\n"
            for (i, f) in files.enumerated() {
                s += ([csvField(f)] + rows[(i * dim)..<((i + 1) * dim)].map { "\($0)" }).joined(separator: ",") + "\n"
            }
            return Data(s.utf8)
        case .npy:
            return EmbeddingFormat.npyData(rows, shape: [files.count, dim])
        }
    }

    /// A float32 little-endian `.npy` (format 1.0, C order) of `values` with `shape`.
    static func npyData(_ values: [Float], shape: [Int]) -> Data {
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var d = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        d.append(Data(header.utf8))
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }

    /// Writes a float32 `.npy` array of any shape atomically.
    public static func writeNpy(_ values: [Float], shape: [Int], to path: String) throws {
        do { try AtomicFile.write(EmbeddingFormat.npyData(values, shape: shape), to: path) } catch {
            throw EvalError("\(path): cannot write: \(error)")
        }
    }

    /// Writes to `path` atomically (`-` = standard output; not for npy).
    public func write(files: [String], rows: [Float], dim: Int, to path: String) throws {
        let data = encode(files: files, rows: rows, dim: dim)
        if path == "-" { FileHandle.standardOutput.write(data); return }
        do {
            try AtomicFile.write(data, to: path)
            if self == .npy { try AtomicFile.write(Data((files.joined(separator: "\n") + "\n").utf8), to: path + ".files.txt") }
        } catch { throw EvalError("\(path): cannot write: \(error)") }
    }
}
