#if canImport(Glibc)
import Glibc
#endif
import AVTensor

/// An optimiser over a `ParameterStore`'s flat buffers. Its state tensors (same layout as the
/// store) are saved in checkpoints under `optim.<stateName>.<parameter>`.
public protocol Optimizer: AnyObject {
    var lr: Float { get set }
    /// Updates taken so far.
    var step: Int { get set }
    /// One update from `store.grads`, with weight decay only on views for which `decay` is true.
    func update(_ store: ParameterStore, decay: (ParameterView) -> Bool)
    /// Named flat state buffers, each `store.count` long.
    var state: [(name: String, tensor: Tensor)] { get }
}

extension Optimizer {
    /// One update with the views' own `decay` flags.
    public func update(_ store: ParameterStore) { update(store, decay: { $0.decay }) }
}

extension AdamW: Optimizer {
    public var state: [(name: String, tensor: Tensor)] { [("m", m), ("v", v)] }

    public func update(_ store: ParameterStore, decay: (ParameterView) -> Bool) {
        update(params: store.values.ptr, grads: store.grads.ptr,
               ranges: store.views.map { ($0.offset..<($0.offset + $0.count), decay($0)) })
    }
}

/// SGD with momentum and coupled weight decay, step for step as `torch.optim.SGD`
/// (dampening 0, no Nesterov): `g ← g + wd·p` (decayed views), `b ← g` on the first step and
/// `b ← μ·b + g` after, `p ← p − lr·b`.
public final class SGD: Optimizer {
    public var lr: Float
    public var momentum: Float
    public var weightDecay: Float
    public var step = 0
    /// The momentum buffer.
    public let buffer: Tensor

    public init(count: Int, lr: Float, momentum: Float = 0.9, weightDecay: Float = 0) {
        self.lr = lr; self.momentum = momentum; self.weightDecay = weightDecay
        buffer = Tensor([count])
    }

    public var state: [(name: String, tensor: Tensor)] { [("m", buffer)] }

    public func update(_ store: ParameterStore, decay: (ParameterView) -> Bool) {
        let p = store.values.ptr, g = store.grads.ptr, b = buffer.ptr
        let first = step == 0
        step += 1
        for view in store.views {
            let wd: Float = decay(view) ? weightDecay : 0
            for i in view.offset..<(view.offset + view.count) {
                let gi = g[i] + wd * p[i]
                let bi = first ? gi : momentum * b[i] + gi
                b[i] = bi
                p[i] -= lr * bi
            }
        }
    }
}

/// The optimiser of `[optim] optimizer`.
public enum OptimizerKind: String, Sendable, CaseIterable, Codable {
    /// AdamW (decoupled weight decay), as torch.optim.AdamW.
    case adamw
    /// SGD with momentum and coupled weight decay, as torch.optim.SGD.
    case sgd
}

/// Learning rate at a step: linear warmup from 0 over `warmupSteps`, then one of
/// - `cosine`: cosine decay from `peak` to `minLR` at `totalSteps`;
/// - `cyclic`: cosine annealing with warm restarts (SGDR; the seed paper's "cosine cyclic"
///   schedule): cycles of `cycleSteps` (each `cycleMult` times the previous), each decaying from
///   `peak` to `minLR`;
/// - `linear`: linear decay from `peak` to `minLR` at `totalSteps`;
/// - `step`: `peak · decayFactor^⌊(step − warmup) / decaySteps⌋`, floored at `minLR`;
/// - `constant`: `peak`.
public struct LRSchedule: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable, Codable { case cosine, cyclic, linear, step, constant }
    public var kind: Kind
    public var peak: Float
    public var minLR: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var cycleSteps = 1000, cycleMult = 1
    public var decaySteps = 1000
    public var decayFactor: Float = 0.1

    public init(kind: Kind = .cosine, peak: Float, minLR: Float = 0, warmupSteps: Int = 0, totalSteps: Int) {
        self.kind = kind; self.peak = peak; self.minLR = minLR; self.warmupSteps = warmupSteps; self.totalSteps = totalSteps
    }

    /// The rate for update number `step` (0-based).
    public func lr(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        let t = step - warmupSteps
        func cosine(_ x: Double) -> Float { minLR + (peak - minLR) * Float(0.5 * (1 + cos(Double.pi * min(1, x)))) }
        switch kind {
        case .constant: return peak
        case .cosine: return cosine(Double(t) / Double(max(1, totalSteps - warmupSteps)))
        case .linear: return minLR + (peak - minLR) * Float(max(0, 1 - Double(t) / Double(max(1, totalSteps - warmupSteps))))
        case .step: return max(minLR, peak * powf(decayFactor, Float(t / max(1, decaySteps))))
        case .cyclic:
            var start = 0, length = max(1, cycleSteps)
            while t >= start + length && length < 1 << 40 { start += length; length *= max(1, cycleMult) }
            return cosine(Double(t - start) / Double(length))
        }
    }
}

/// Which parameters get weight decay: a parameter is excluded when its name contains one of
/// `patterns` (`[optim] no_decay`; default: norms, biases, relative position tables — the
/// encoder's own `decay` flags).
public struct DecayRule: Sendable, Equatable {
    public static let defaultPatterns = ["norm", "bias", "relative_position_bias_table"]
    public var patterns: [String]
    public init(patterns: [String] = DecayRule.defaultPatterns) { self.patterns = patterns }
    public func decays(_ name: String) -> Bool { !patterns.contains { name.contains($0) } }
}
