import Foundation
import AVTensor

/// Cross-modal retrieval over N paired clips: query i's only relevant item is gallery item i.
///
/// Rank of the pair = 1 + the number of *other* gallery items whose cosine is ≥ the pair's
/// (ties count against the query: the pessimistic rule, so a constant model scores rank N, not 1).
/// R@K = share of queries with rank ≤ K; mAP with one relevant item is the mean of 1/rank.
public struct RetrievalMetrics: Codable, Equatable {
    public var queries: Int
    public var r1: Double, r5: Double, r10: Double
    public var medianRank: Double
    public var mAP: Double

    /// Metrics of queries `q` against gallery `g` (both N × D; normalised here).
    public static func compute(queries q: [Float], gallery g: [Float], dim d: Int) -> RetrievalMetrics {
        let n = d > 0 ? q.count / d : 0
        guard n > 0, g.count == q.count else { return RetrievalMetrics(queries: 0, r1: 0, r5: 0, r10: 0, medianRank: 0, mAP: 0) }
        let a = normalizedRows(q, dim: d), b = normalizedRows(g, dim: d)
        var s = [Float](repeating: 0, count: n * n)
        a.withUnsafeBufferPointer { ab in b.withUnsafeBufferPointer { bb in s.withUnsafeMutableBufferPointer { sb in
            BLAS.gemm(transB: true, m: n, n: n, k: d, a: ab.baseAddress!, b: bb.baseAddress!, c: sb.baseAddress!)
        } } }
        let ranks = (0..<n).map { i -> Int in
            let own = s[i * n + i]
            var r = 1
            for j in 0..<n where j != i && s[i * n + j] >= own { r += 1 }
            return r
        }
        return RetrievalMetrics(ranks: ranks)
    }

    /// Metrics from the rank of each query's pair.
    public init(ranks: [Int]) {
        let n = Double(max(1, ranks.count))
        queries = ranks.count
        func recall(_ k: Int) -> Double { Double(ranks.filter { $0 <= k }.count) / n }
        r1 = recall(1); r5 = recall(5); r10 = recall(10)
        let sorted = ranks.sorted()
        medianRank = sorted.isEmpty ? 0
            : (sorted.count % 2 == 1 ? Double(sorted[sorted.count / 2]) : Double(sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2)
        mAP = ranks.reduce(0) { $0 + 1 / Double($1) } / n
    }

    public init(queries: Int, r1: Double, r5: Double, r10: Double, medianRank: Double, mAP: Double) {
        self.queries = queries; self.r1 = r1; self.r5 = r5; self.r10 = r10; self.medianRank = medianRank; self.mAP = mAP
    }
}

/// Audio↔image and audio↔text retrieval of an eval-shard set.
public enum Retrieval {
    /// The four directions ("audio→image", "image→audio", "audio→text", "text→audio") for the
    /// embedded clips of `set` (which must carry paired text and image embeddings).
    public static func evaluate(_ set: EvalSet, embeddings emb: EvalEmbeddings) throws -> [(String, RetrievalMetrics)] {
        guard let text = set.text, let image = set.image else {
            throw EvalError("\(set.root): retrieval needs paired image/text embeddings (eval shards), \(set.kind) has none")
        }
        let d = emb.dim
        guard image.count == set.items.count * d, text.count == set.items.count * d else {
            throw EvalError("\(set.root): paired embeddings have width \(image.count / max(1, set.items.count)), the encoder outputs \(d)")
        }
        func pick(_ m: [Float]) -> [Float] { emb.indices.flatMap { m[($0 * d)..<(($0 + 1) * d)] } }
        let v = pick(image), t = pick(text), a = emb.rows
        return [("audio→image", RetrievalMetrics.compute(queries: a, gallery: v, dim: d)),
                ("image→audio", RetrievalMetrics.compute(queries: v, gallery: a, dim: d)),
                ("audio→text", RetrievalMetrics.compute(queries: a, gallery: t, dim: d)),
                ("text→audio", RetrievalMetrics.compute(queries: t, gallery: a, dim: d))]
    }
}
