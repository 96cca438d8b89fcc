import Foundation

/// The audio embeddings of an evaluation set's clips (raw head outputs, N × D), and the clips
/// that could not be read (named, with the reason) — evaluation goes on without them.
public struct EvalEmbeddings {
    /// Indices into the set's items of the clips embedded, ascending.
    public var indices: [Int]
    /// One row per embedded clip (D floats), in `indices` order.
    public var rows: [Float]
    public var dim: Int
    /// (clip name, reason) for every clip skipped.
    public var skipped: [(name: String, reason: String)]

    /// Embeds every clip of `set` with `embedder`; `progress(done, total)` after each chunk.
    public static func compute(_ set: EvalSet, _ embedder: AudioEmbedder,
                               progress: ((Int, Int) -> Void)? = nil) -> EvalEmbeddings {
        let rate = embedder.frontEnd.config.sampleRate
        let n = set.items.count
        let results = embedder.embed(count: n, concurrentLoad: set.concurrentLoad, progress: { progress?($0, n) }) { i in
            try set.load(i, rate)
        }
        var out = EvalEmbeddings(indices: [], rows: [], dim: embedder.dim, skipped: [])
        for (i, r) in results.enumerated() {
            switch r {
            case .success(let e):
                out.indices.append(i); out.rows += e
            case .failure(let e):
                out.skipped.append((set.items[i].name, "\(e)"))
            }
        }
        return out
    }
}
