import AVTensor
import AVDist
import Foundation

/// The weighted objective of SPEC §5 over the global batch, for this rank's share `local`.
///
/// Each rank L2-normalises its own rows, all-gathers the embeddings the active terms need
/// (a, ã, â, t, v, w: one all-gather of [n, F·D] per rank), computes every direction's rows for
/// its own clips against all N columns, and accumulates the gradient with respect to the whole
/// gathered a (and ã). A reduce-scatter sums those over ranks, so each rank receives the
/// gradient of the global-batch loss for its own clips; the row sums of the losses and the
/// logit-scale derivative are all-reduced (Double). The single-process case is `comm.size == 1`
/// (e.g. `InProcessCommunicator.single()`): the same code with trivial collectives.
///
/// Every rank must hold the same number of clips. `logitScale` is the raw parameter: the scale
/// is s = min(exp(logitScale), 100) and the gradient with respect to `logitScale` is zero while
/// clamped. The momentum targets use s̄ = s without gradient.
///
/// Bad input (a non-finite value, a zero row, a missing array) throws `LossError` naming the
/// array, rank and row before any collective; the caller must then end the job
/// (`MPICommunicator.run` aborts it) since the peers wait in the all-gather.
public func contrastiveObjective(local: LossInputs, logitScale: Float, weights: LossWeights,
                                 comm: Communicator) throws -> LossResult {
    let terms = LossTerm.allCases.filter { weights[$0] != 0 }
    guard !terms.isEmpty else { throw LossError("every loss weight is zero") }
    for t in terms where !weights[t].isFinite { throw LossError("weight of \(t.rawValue) is \(weights[t])") }
    if terms.contains(.weakKD) && !(weights.tauKD > 0 && weights.tauKD.isFinite) {
        throw LossError("tau_kd must be positive, got \(weights.tauKD)")
    }
    guard logitScale.isFinite else { throw LossError("logit_scale is \(logitScale)") }
    let dim = local.dim, n = local.count
    guard dim > 0, n > 0, local.x.count == n * dim else {
        throw LossError("rank \(comm.rank): x has \(local.x.count) values, not a positive multiple of dim \(dim)")
    }

    // This rank's normalised rows, packed [n, F·D] in the order of `fields`.
    let fields = LossField.needed(by: terms)
    let ld = fields.count * dim
    let packed = Tensor([n, ld])
    var norms: [LossField: [Float]] = [:]
    for (f, field) in fields.enumerated() {
        let src = field.values(in: local)
        guard src.count == n * dim else {
            throw LossError("rank \(comm.rank): \(field.name) has \(src.count) values, expected \(n) clips × \(dim)"
                            + " (needed by \(terms.filter { field.isUsed(by: $0) }.map(\.rawValue).joined(separator: ", ")))")
        }
        norms[field] = try normaliseRows(src, into: packed.ptr + f * dim, ld: ld, rows: n, dim: dim,
                                         name: field.name, rank: comm.rank)
    }

    // Equal shares on every rank, then the global table [N, F·D].
    let counts = try comm.allGather([Float(n)])
    guard counts.allSatisfy({ $0 == Float(n) }) else {
        throw LossError("ranks hold different batch sizes \(counts.map { Int($0) }); every rank needs the same")
    }
    let total = n * comm.size, offset = n * comm.rank
    let table = Tensor([total, ld])
    try comm.allGather(UnsafeBufferPointer(packed.buffer), into: table.buffer)

    // Gradient table over the global batch: a (and ã) side by side, [N, G·D].
    let gradFields = fields.filter(\.hasGradient)
    let ldGrad = gradFields.count * dim
    let grad = Tensor([total, ldGrad])
    let expScale = Foundation.exp(logitScale)
    let s = min(expScale, LossField.maxScale)
    let work = ContrastiveRows.Workspace(n: n, total: total, dim: dim, offset: offset, ld: ld, ldGrad: ldGrad)
    defer { work.release() }

    // stats[k] = Σ rows of term k; stats.last = d total / d s.
    var stats = [Double](repeating: 0, count: terms.count + 1)
    for (k, term) in terms.enumerated() {
        let factor = term.factor(total: total, tau: weights.tauKD)
        for d in term.directions {
            func at(_ f: LossField, own: Bool) -> UnsafePointer<Float> {
                UnsafePointer(table.ptr + (own ? offset * ld : 0) + fields.firstIndex(of: f)! * dim)
            }
            func gradAt(_ f: LossField, own: Bool) -> UnsafeMutablePointer<Float>? {
                gradFields.firstIndex(of: f).map { grad.ptr + (own ? offset * ldGrad : 0) + $0 * dim }
            }
            let c = d.usesLogitScale ? s : 1 / weights.tauKD
            let op = ContrastiveRows.Operands(
                query: at(d.query, own: true), key: at(d.key, own: false), scale: c,
                target: d.target.map { (at($0.query, own: true), at($0.key, own: false), c) },
                dQuery: gradAt(d.query, own: true), dKey: gradAt(d.key, own: false))
            let (rows, dScale) = ContrastiveRows.apply(op, factor: factor * weights[term], work)
            stats[k] += rows
            if d.usesLogitScale { stats[terms.count] += dScale }
        }
    }
    try comm.allReduce(&stats)

    // Each rank's own clips: sum the gradient over ranks, then back through the normalisation.
    let mine = Tensor([n, ldGrad])
    try comm.reduceScatter(UnsafeBufferPointer(grad.buffer), into: mine.buffer)
    var gradX = [Float](repeating: 0, count: n * dim), gradXAug = gradX
    for (g, field) in gradFields.enumerated() {
        let dOut = Tensor([n, dim]), y = Tensor([n, dim])
        for r in 0..<n {
            (dOut.ptr + r * dim).update(from: mine.ptr + r * ldGrad + g * dim, count: dim)
            (y.ptr + r * dim).update(from: packed.ptr + r * ld + fields.firstIndex(of: field)! * dim, count: dim)
        }
        let nrm = norms[field]!
        if field == .audio {
            L2Normalize.backward(dinp: &gradX, out: y.ptr, norms: nrm, dout: dOut.ptr, rows: n, cols: dim, accumulate: true)
        } else {
            L2Normalize.backward(dinp: &gradXAug, out: y.ptr, norms: nrm, dout: dOut.ptr, rows: n, cols: dim, accumulate: true)
        }
    }

    var values: [String: Float] = [:]
    var totalLoss = 0.0
    for (k, term) in terms.enumerated() {
        let v = stats[k] * Double(term.factor(total: total, tau: weights.tauKD))
        values[term.rawValue] = Float(v)
        totalLoss += Double(weights[term]) * v
    }
    let clamped = expScale > LossField.maxScale
    return LossResult(values: values, total: Float(totalLoss), gradX: gradX, gradXAug: gradXAug,
                      gradLogitScale: clamped ? 0 : Float(stats[terms.count] * Double(s)), scale: s)
}

/// Writes the L2-normalised rows of `src` ([rows, dim]) at stride `ld` (`L2Normalize`) and
/// returns the norms; a non-finite value or a (near-)zero row is an error naming the array, rank
/// and row.
func normaliseRows(_ src: [Float], into out: UnsafeMutablePointer<Float>, ld: Int, rows: Int, dim: Int,
                   name: String, rank: Int) throws -> [Float] {
    var norms = [Float](repeating: 0, count: rows)
    try src.withUnsafeBufferPointer { buf in
        let p = buf.baseAddress!
        if let bad = (0..<(rows * dim)).first(where: { !p[$0].isFinite }) {
            throw LossError("rank \(rank): \(name) row \(bad / dim) holds \(p[bad])")
        }
        norms.withUnsafeMutableBufferPointer { L2Normalize.forward(out: out, norms: $0.baseAddress!, inp: p, rows: rows, cols: dim, ldOut: ld) }
    }
    // L2Normalize floors a norm at its eps (1e-12): at or below it the row cannot be normalised.
    if let r = norms.firstIndex(where: { !($0 > 1e-12) || !$0.isFinite }) {
        throw LossError("rank \(rank): \(name) row \(r) has norm \(norms[r] > 1e-12 ? norms[r] : 0)")
    }
    return norms
}
