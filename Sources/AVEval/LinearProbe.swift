import Foundation
import AVTensor

/// Multinomial logistic regression with an L2 penalty on the weights (not the bias): the
/// objective of scikit-learn's `LogisticRegression(C=c)` (lbfgs, multinomial), written as
/// mean cross-entropy + ‖W‖² / (2·C·n), minimised in Double precision by L-BFGS.
/// Hand-written because no Swift library here fits models; it is ~100 lines.
public struct LogisticRegression {
    public let classes: Int, dim: Int
    /// classes × dim weights, then classes biases.
    public var parameters: [Double]

    /// Fits on `x` (n × dim) with labels in 0..<classes.
    public static func fit(x: [Float], labels: [Int], dim: Int, classes: Int, c: Double = 1,
                           maxIterations: Int = 1000, tolerance: Double = 1e-6) -> LogisticRegression {
        let xd = x.map(Double.init)
        var model = LogisticRegression(classes: classes, dim: dim, parameters: [Double](repeating: 0, count: classes * (dim + 1)))
        let f = { (p: [Double]) in LogisticRegression.objective(p, x: xd, labels: labels, dim: dim, classes: classes, c: c) }
        model.parameters = LBFGS.minimize(model.parameters, maxIterations: maxIterations, tolerance: tolerance, f)
        return model
    }

    /// Scores (n × classes) of rows `x`.
    public func logits(_ x: [Double]) -> [Double] {
        let n = x.count / dim
        var z = [Double](repeating: 0, count: n * classes)
        x.withUnsafeBufferPointer { xb in parameters.withUnsafeBufferPointer { pb in z.withUnsafeMutableBufferPointer { zb in
            BLAS.dgemm(transB: true, m: n, n: classes, k: dim, a: xb.baseAddress!, b: pb.baseAddress!, c: zb.baseAddress!)
        } } }
        for i in 0..<n { for k in 0..<classes { z[i * classes + k] += parameters[classes * dim + k] } }
        return z
    }

    /// The most likely class of each row of `x` (ties: the lower class).
    public func predict(_ x: [Float]) -> [Int] {
        let z = logits(x.map(Double.init))
        return (0..<(x.count / dim)).map { i in
            (0..<classes).max { z[i * classes + $0] < z[i * classes + $1] || (z[i * classes + $0] == z[i * classes + $1] && $0 > $1) } ?? 0
        }
    }

    /// The objective and its gradient at `p`.
    public static func objective(_ p: [Double], x: [Double], labels: [Int], dim: Int, classes k: Int, c: Double) -> (Double, [Double]) {
        let n = labels.count
        let m = LogisticRegression(classes: k, dim: dim, parameters: p)
        var z = m.logits(x)
        var loss = 0.0
        for i in 0..<n {                                  // z ← softmax − one-hot, the logits' gradient × n
            let row = i * k
            var mx = -Double.infinity
            for j in 0..<k { mx = max(mx, z[row + j]) }
            var sum = 0.0
            for j in 0..<k { z[row + j] = exp(z[row + j] - mx); sum += z[row + j] }
            loss -= log(z[row + labels[i]] / sum)
            for j in 0..<k { z[row + j] /= sum }
            z[row + labels[i]] -= 1
        }
        let invN = 1 / Double(n), reg = 1 / (c * Double(n))
        var g = [Double](repeating: 0, count: p.count)
        z.withUnsafeBufferPointer { zb in x.withUnsafeBufferPointer { xb in g.withUnsafeMutableBufferPointer { gb in
            BLAS.dgemm(transA: true, m: k, n: dim, k: n, alpha: invN, a: zb.baseAddress!, b: xb.baseAddress!, c: gb.baseAddress!)
        } } }
        var wss = 0.0
        for i in 0..<(k * dim) { g[i] += reg * p[i]; wss += p[i] * p[i] }
        for i in 0..<n { for j in 0..<k { g[k * dim + j] += z[i * k + j] * invN } }
        return (loss * invN + 0.5 * reg * wss, g)
    }
}

/// Limited-memory BFGS (history 10) with a backtracking Armijo line search.
enum LBFGS {
    static func minimize(_ x0: [Double], maxIterations: Int, tolerance: Double, _ f: ([Double]) -> (Double, [Double])) -> [Double] {
        var x = x0
        var (fx, g) = f(x)
        var s: [[Double]] = [], y: [[Double]] = [], rho: [Double] = []
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        for iteration in 0..<maxIterations {
            if g.map(abs).max() ?? 0 < tolerance { break }
            // Two-loop recursion: d = −H·g.
            var q = g
            var alpha = [Double](repeating: 0, count: s.count)
            for i in stride(from: s.count - 1, through: 0, by: -1) {
                alpha[i] = rho[i] * dot(s[i], q)
                for j in 0..<q.count { q[j] -= alpha[i] * y[i][j] }
            }
            let gamma = s.isEmpty ? 1 / max(1e-12, dot(g, g).squareRoot()) : dot(s.last!, y.last!) / dot(y.last!, y.last!)
            for j in 0..<q.count { q[j] *= gamma }
            for i in 0..<s.count {
                let beta = rho[i] * dot(y[i], q)
                for j in 0..<q.count { q[j] += s[i][j] * (alpha[i] - beta) }
            }
            var d = q.map { -$0 }
            var slope = dot(g, d)
            if slope >= 0 { d = g.map { -$0 }; slope = -dot(g, g); s.removeAll(); y.removeAll(); rho.removeAll() }
            var step = 1.0, accepted = false
            var xn = x, fn = fx, gn = g
            for _ in 0..<40 {
                for j in 0..<x.count { xn[j] = x[j] + step * d[j] }
                (fn, gn) = f(xn)
                if fn <= fx + 1e-4 * step * slope { accepted = true; break }
                step *= 0.5
            }
            if !accepted { break }
            let sk = zip(xn, x).map { $0 - $1 }, yk = zip(gn, g).map { $0 - $1 }
            let sy = dot(sk, yk)
            if sy > 1e-12 {
                s.append(sk); y.append(yk); rho.append(1 / sy)
                if s.count > 10 { s.removeFirst(); y.removeFirst(); rho.removeFirst() }
            }
            let change = abs(fx - fn) / max(1, abs(fx))
            x = xn; fx = fn; g = gn
            if change < 1e-12 && iteration > 0 { break }
        }
        return x
    }
}

/// Linear-probe accuracy with folds: for each fold, fit on the other folds' clips and test on
/// this fold's. Features are the L2-normalised embeddings.
public struct LinearProbeResult: Codable {
    public var perFold: [Int: Double]
    /// Mean and population standard deviation of the per-fold accuracies.
    public var mean: Double, std: Double
    public var c: Double
}

public enum LinearProbe {
    /// Runs the probe on N × D `embeddings` with `labels` and `folds` (one per row).
    public static func run(embeddings: [Float], labels: [Int], folds: [Int], dim: Int, classes: Int, c: Double = 1,
                           log: ((String) -> Void)? = nil) throws -> LinearProbeResult {
        let x = normalizedRows(embeddings, dim: dim)
        let distinct = Array(Set(folds)).sorted()
        guard distinct.count >= 2 else { throw EvalError("linear probe needs at least 2 folds, got \(distinct)") }
        var acc: [Int: Double] = [:]
        for f in distinct {
            var trX: [Float] = [], trY: [Int] = [], teX: [Float] = [], teY: [Int] = []
            for i in 0..<labels.count {
                let row = x[(i * dim)..<((i + 1) * dim)]
                if folds[i] == f { teX += row; teY.append(labels[i]) } else { trX += row; trY.append(labels[i]) }
            }
            let model = LogisticRegression.fit(x: trX, labels: trY, dim: dim, classes: classes, c: c)
            let pred = model.predict(teX)
            let a = Double(zip(pred, teY).filter { $0 == $1 }.count) / Double(max(1, teY.count))
            acc[f] = a
            log?(String(format: "fold %d: %d train, %d test, accuracy %.2f %%", f, trY.count, teY.count, 100 * a))
        }
        let v = acc.values, mean = v.reduce(0, +) / Double(v.count)
        let std = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)).squareRoot()
        return LinearProbeResult(perFold: acc, mean: mean, std: std, c: c)
    }
}
