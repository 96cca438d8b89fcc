import Foundation
import AVLoss

/// A direct Double-precision transcription of make_fixtures.py:all_losses (naive loops), with
/// the momentum target scale s̄ as a separate argument so that finite differences can hold it
/// fixed, as the detach in the definition does.
enum ReferenceLosses {
    static func value(_ term: LossTerm, _ i: LossInputs, logitScale: Double, targetScale: Double? = nil,
                      tau: Double = 0.1) -> Double {
        let d = i.dim, n = i.count
        func nrm(_ a: [Float]) -> [[Double]] {
            (0..<n).map { r in
                let row = (0..<d).map { Double(a[r * d + $0]) }
                let s = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
                return row.map { $0 / s }
            }
        }
        let s = min(exp(logitScale), 100), sbar = targetScale ?? s
        let a = nrm(i.x)
        func logits(_ p: [[Double]], _ q: [[Double]], _ c: Double) -> [[Double]] {
            p.map { pr in q.map { qr in c * zip(pr, qr).reduce(0) { $0 + $1.0 * $1.1 } } }
        }
        func transpose(_ m: [[Double]]) -> [[Double]] { (0..<n).map { j in (0..<n).map { m[$0][j] } } }
        func logSoftmax(_ row: [Double]) -> [Double] {
            let m = row.max()!, l = m + log(row.reduce(0) { $0 + exp($1 - m) })
            return row.map { $0 - l }
        }
        func ce(_ l: [[Double]]) -> Double { (0..<n).reduce(0) { $0 - logSoftmax(l[$1])[$1] } / Double(n) }
        func infoNCE(_ b: [[Double]]) -> Double { let l = logits(a, b, s); return 0.5 * (ce(l) + ce(transpose(l))) }
        func kl(_ q: [[Double]], _ p: [[Double]]) -> Double {
            (0..<n).reduce(0) { acc, r in
                let lq = logSoftmax(q[r]), lp = logSoftmax(p[r])
                return acc + (0..<n).reduce(0) { $0 + exp(lq[$1]) * (lq[$1] - lp[$1]) }
            } / Double(n)
        }
        switch term {
        case .audioText: return infoNCE(nrm(i.text))
        case .audioImage: return infoNCE(nrm(i.image))
        case .audioAudio: return infoNCE(nrm(i.xAug))
        case .weakKD:
            let t = nrm(i.text), w = nrm(i.weakImage)
            return tau * tau * 0.5 * (kl(logits(t, w, 1 / tau), logits(a, w, 1 / tau))
                                      + kl(logits(w, t, 1 / tau), logits(w, a, 1 / tau)))
        case .momentumKD:
            let am = nrm(i.xMomentum), v = nrm(i.image)
            return kl(logits(am, v, sbar), logits(a, v, s)) + kl(logits(v, am, sbar), logits(v, a, s))
        }
    }

    /// Σ weight · term.
    static func total(_ w: LossWeights, _ i: LossInputs, logitScale: Double, targetScale: Double? = nil) -> Double {
        LossTerm.allCases.reduce(0) {
            $0 + (w[$1] == 0 ? 0 : Double(w[$1]) * value($1, i, logitScale: logitScale, targetScale: targetScale,
                                                          tau: Double(w.tauKD)))
        }
    }
}
