import Foundation
import AVTensor

/// Zero-shot classification: each clip's class is the class prompt embedding with the highest
/// cosine similarity to the clip's audio embedding (ties: the lower class number).
public struct ZeroShotResult {
    /// One classified clip: its index in the set, true class, the top-5 classes and cosines.
    public struct Prediction {
        public var item: Int
        public var label: Int
        public var top: [(label: Int, score: Float)]
    }

    /// Accuracy over a group of clips.
    public struct Accuracy: Codable, Equatable {
        public var clips: Int
        public var top1: Double
        public var top5: Double
    }

    public var set: EvalSet
    public var predictions: [Prediction]
    public var skipped: [(name: String, reason: String)]
    /// Classes of the class file not in the data set (left out of the ranking).
    public var unusedClasses: Int
    public var overall: Accuracy
    public var perFold: [Int: Accuracy]
    /// confusion[true][predicted] counts.
    public var confusion: [[Int]]
    /// Chance top-1 accuracy (1 / classes).
    public var chance: Double { 1 / Double(max(1, set.classNames.count)) }
}

public enum ZeroShot {
    /// The top `k` (class, cosine) for each row of `embeddings` (N × D, any length) against unit
    /// `classRows` (C × D), best first; ties go to the lower class number.
    public static func rank(_ embeddings: [Float], classRows: [Float], dim d: Int, k: Int) -> [[(label: Int, score: Float)]] {
        let n = d > 0 ? embeddings.count / d : 0, c = d > 0 ? classRows.count / d : 0
        guard n > 0, c > 0 else { return Array(repeating: [], count: n) }
        let a = normalizedRows(embeddings, dim: d)
        var s = [Float](repeating: 0, count: n * c)
        a.withUnsafeBufferPointer { ab in classRows.withUnsafeBufferPointer { cb in s.withUnsafeMutableBufferPointer { sb in
            BLAS.gemm(transB: true, m: n, n: c, k: d, a: ab.baseAddress!, b: cb.baseAddress!, c: sb.baseAddress!)
        } } }
        return (0..<n).map { i in
            let order = (0..<c).sorted { s[i * c + $0] != s[i * c + $1] ? s[i * c + $0] > s[i * c + $1] : $0 < $1 }
            return order.prefix(k).map { ($0, s[i * c + $0]) }
        }
    }

    /// Classifies every clip of `set`; clips that cannot be read are skipped and listed.
    public static func evaluate(_ set: EvalSet, embedder: AudioEmbedder, classes: ClassEmbeddings,
                                progress: ((Int, Int) -> Void)? = nil) throws -> ZeroShotResult {
        guard classes.dim == embedder.dim else {
            throw EvalError("\(classes.path): class embeddings have D = \(classes.dim), the encoder outputs \(embedder.dim)")
        }
        let (rows, unused) = try classes.aligned(to: set.classNames, dataset: "\(set.kind) (\(set.root))")
        let emb = EvalEmbeddings.compute(set, embedder, progress: progress)
        return score(set, embeddings: emb, classRows: rows, unusedClasses: unused)
    }

    /// The metrics of `embeddings` of `set` against aligned unit class rows.
    public static func score(_ set: EvalSet, embeddings emb: EvalEmbeddings, classRows: [Float], unusedClasses: Int = 0) -> ZeroShotResult {
        let c = set.classNames.count
        let tops = rank(emb.rows, classRows: classRows, dim: emb.dim, k: min(5, c))
        var preds: [ZeroShotResult.Prediction] = []
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: c), count: c)
        for (j, i) in emb.indices.enumerated() {
            let label = set.items[i].label
            preds.append(.init(item: i, label: label, top: tops[j]))
            if let p = tops[j].first { confusion[label][p.label] += 1 }
        }
        func accuracy(_ ps: [ZeroShotResult.Prediction]) -> ZeroShotResult.Accuracy {
            let n = ps.count
            let t1 = ps.filter { $0.top.first?.label == $0.label }.count
            let t5 = ps.filter { p in p.top.contains { $0.label == p.label } }.count
            return .init(clips: n, top1: n > 0 ? Double(t1) / Double(n) : 0, top5: n > 0 ? Double(t5) / Double(n) : 0)
        }
        var perFold: [Int: ZeroShotResult.Accuracy] = [:]
        for f in set.folds { perFold[f] = accuracy(preds.filter { set.items[$0.item].fold == f }) }
        return ZeroShotResult(set: set, predictions: preds, skipped: emb.skipped, unusedClasses: unusedClasses,
                              overall: accuracy(preds), perFold: perFold, confusion: confusion)
    }
}
