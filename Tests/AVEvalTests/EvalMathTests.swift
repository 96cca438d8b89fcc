import XCTest
import Foundation
import AVTensor
import AVEval
import TestSupport
import RunFixtures

/// Retrieval ranks and ties, the logistic-regression objective and its optimum, zero-shot ranking.
final class EvalMathTests: XCTestCase {
    override func setUp() { Threads.set(1) }

    /// Ranks from hand-made embeddings, including a tie that counts against the query.
    func testRetrievalRanksAndTies() {
        // Gallery: e0, e1, e1 (a duplicate of item 1), e2+e0 mix. Queries are the gallery itself.
        let g: [Float] = [1, 0, 0,   0, 1, 0,   0, 1, 0,   0.6, 0, 0.8]
        let m = RetrievalMetrics.compute(queries: g, gallery: g, dim: 3)
        // q0: own 1, others 0, 0, 0.6 → rank 1. q1: own 1, item 2 also 1 (tie) → rank 2. q2: rank 2.
        // q3: own 1 → rank 1.
        XCTAssertEqual(m.queries, 4)
        XCTAssertEqual(m.r1, 0.5)
        XCTAssertEqual(m.r5, 1)
        XCTAssertEqual(m.medianRank, 1.5)
        XCTAssertEqual(m.mAP, (1 + 0.5 + 0.5 + 1) / 4, accuracy: 1e-12)
        // A constant model ranks every pair last (N), not first.
        let constant = RetrievalMetrics.compute(queries: [Float](repeating: 1, count: 12), gallery: [Float](repeating: 1, count: 12), dim: 3)
        XCTAssertEqual(constant.medianRank, 4)
        XCTAssertEqual(constant.r1, 0)
        XCTAssertEqual(RetrievalMetrics(ranks: [1, 3, 12, 7]).medianRank, 5)
        XCTAssertEqual(RetrievalMetrics(ranks: [1, 3, 12, 7]).r10, 0.75)
    }

    /// The probe's gradient matches finite differences of its objective.
    func testLogisticObjectiveGradient() {
        let n = 12, d = 5, k = 3
        let x = TestSupport.randn(n * d, seed: 1).map(Double.init)
        let labels = (0..<n).map { $0 % k }
        let p = TestSupport.randn(k * (d + 1), seed: 2, std: 0.5).map(Double.init)
        let (_, g) = LogisticRegression.objective(p, x: x, labels: labels, dim: d, classes: k, c: 0.7)
        for i in 0..<p.count {
            var a = p, b = p
            a[i] += 1e-6; b[i] -= 1e-6
            let num = (LogisticRegression.objective(a, x: x, labels: labels, dim: d, classes: k, c: 0.7).0
                       - LogisticRegression.objective(b, x: x, labels: labels, dim: d, classes: k, c: 0.7).0) / 2e-6
            XCTAssertEqual(g[i], num, accuracy: 1e-6 * max(1, abs(num)), "parameter \(i)")
        }
    }

    /// L-BFGS reaches the optimum (gradient ≈ 0) and separable clusters are classified exactly;
    /// the leave-one-fold-out driver reports per-fold accuracy, mean and std.
    func testLogisticRegressionFitAndProbe() throws {
        let d = 8, k = 4, perClass = 30
        var x: [Float] = [], labels: [Int] = [], folds: [Int] = []
        var rng = Rng(seed: 5)
        for i in 0..<(k * perClass) {
            let c = i % k
            for j in 0..<d { x.append((j == c ? 3 : 0) + 0.5 * rng.normal()) }
            labels.append(c); folds.append(i % 3 + 1)
        }
        let m = LogisticRegression.fit(x: x, labels: labels, dim: d, classes: k, c: 10)
        let (_, g) = LogisticRegression.objective(m.parameters, x: x.map(Double.init), labels: labels, dim: d, classes: k, c: 10)
        XCTAssertLessThan(g.map(abs).max()!, 1e-5)
        XCTAssertEqual(zip(m.predict(x), labels).filter { $0 == $1 }.count, labels.count)
        let r = try LinearProbe.run(embeddings: x, labels: labels, folds: folds, dim: d, classes: k, c: 10)
        XCTAssertEqual(Set(r.perFold.keys), [1, 2, 3])
        XCTAssertGreaterThan(r.mean, 0.95)
        XCTAssertEqual(r.std, 0, accuracy: 0.05)
        // Labels unrelated to the features: near chance.
        let shuffled = labels.indices.map { labels[($0 * 7 + 3) % labels.count] == labels[$0] ? labels[$0] : ($0 * 5) % k }
        let noise = try LinearProbe.run(embeddings: TestSupport.randn(x.count, seed: 9), labels: shuffled, folds: folds, dim: d, classes: k)
        XCTAssertLessThan(noise.mean, 0.5)
    }

    /// Zero-shot ranking: cosine order, top-k, ties to the lower class.
    func testZeroShotRank() {
        let classes: [Float] = [1, 0,  0, 1,  -1, 0]
        let r = ZeroShot.rank([2, 1,  0, -3,  1, 1], classRows: classes, dim: 2, k: 2)
        XCTAssertEqual(r[0].map(\.label), [0, 1])
        XCTAssertEqual(r[0][0].score, 2 / Float(5).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(r[1].map(\.label), [0, 2], "tie between classes 0 and 2 at 0 goes to the lower")
        XCTAssertEqual(r[2].map(\.label), [0, 1])
    }

    /// Long clips are windowed with the hop, the last window ends at the clip's end.
    func testWindowStarts() throws {
        let enc = try EvalFixtures.tinyEncoder()
        let e = try AudioEmbedder(encoder: enc.0, frontEnd: enc.1, hopSeconds: 0.25)
        XCTAssertEqual(e.hopSamples, 2000)
        XCTAssertEqual(e.windowStarts(count: 3000), [0])
        XCTAssertEqual(e.windowStarts(count: 4000), [0])
        XCTAssertEqual(e.windowStarts(count: 9000), [0, 2000, 4000, 5000])
        XCTAssertThrowsError(try AudioEmbedder(encoder: enc.0, frontEnd: enc.1, hopSeconds: 0))
        XCTAssertThrowsError(try AudioEmbedder(encoder: enc.0, frontEnd: enc.1, hopSeconds: .nan))
        XCTAssertThrowsError(try AudioEmbedder(encoder: enc.0, frontEnd: enc.1, hopSeconds: 10))
    }
}
