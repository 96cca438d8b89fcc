import Foundation
import AVSafetensors

/// A file of computed evaluation embeddings (safetensors: `embeddings` [N, D], `indices`, `labels`,
/// `folds` [N]),
/// keyed by the encoder (checkpoint, step, EMA), the data set (kind, root, every clip's name,
/// fold and label) and the window hop, so a probe can be rerun (other C) without re-embedding.
public enum EmbeddingCache {
    /// The cache key of `set` embedded by `spec`'s encoder with `embedder`'s settings.
    static func key(_ set: EvalSet, spec: EncoderSpec, embedder: AudioEmbedder) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325                       // FNV-1a over the clip list
        for it in set.items { for b in "\(it.name)|\(it.fold)|\(it.label)\n".utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 } }
        return "\(spec.source.checkpoint)|step \(spec.source.step)|ema \(spec.source.ema)|\(set.kind)|\(set.root)|"
            + "\(set.items.count) clips \(String(h, radix: 16))|hop \(embedder.hopSamples)"
    }

    /// The embeddings from `cache` when its key matches, else from `compute()` (then written to
    /// `cache`, if given). A stale or unreadable cache is reported on stderr and replaced.
    public static func embeddings(_ set: EvalSet, embedder: AudioEmbedder, spec: EncoderSpec, cache: String?,
                                  compute: () -> EvalEmbeddings) throws -> EvalEmbeddings {
        let k = key(set, spec: spec, embedder: embedder)
        if let cache, FileManager.default.fileExists(atPath: cache) {
            do {
                let f = try SafetensorsFile(path: cache)
                if f.metadata["key"] == k, let e = f.entries["embeddings"], e.shape.count == 2, e.shape[1] == embedder.dim {
                    let idx = try f.ints("indices").map(Int.init)
                    guard idx.count == e.shape[0], idx.allSatisfy({ (0..<set.items.count).contains($0) }) else {
                        throw EvalError("indices do not match the embeddings")
                    }
                    fputs("using cached embeddings \(cache)\n", stderr)
                    return EvalEmbeddings(indices: idx, rows: try f.floats("embeddings"), dim: embedder.dim, skipped: [])
                }
                fputs("cache \(cache) was made for another encoder or data set; recomputing\n", stderr)
            } catch {
                fputs("cache \(cache) is unreadable (\(error)); recomputing\n", stderr)
            }
        }
        let e = compute()
        if let cache {
            var w = SafetensorsWriter(metadata: ["key": k])
            w.add("embeddings", shape: [e.indices.count, e.dim], floats: e.rows)
            w.add("indices", shape: [e.indices.count], ints: e.indices.map(Int64.init))
            // Labels and folds too, so the cache alone reproduces the probe elsewhere (Tests/interop/probe_check.py).
            w.add("labels", shape: [e.indices.count], ints: e.indices.map { Int64(set.items[$0].label) })
            w.add("folds", shape: [e.indices.count], ints: e.indices.map { Int64(set.items[$0].fold) })
            do { try w.write(to: cache) } catch { throw EvalError("\(cache): cannot write the embedding cache: \(error)") }
        }
        return e
    }
}
