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
    /// One update from `store.grads`, with weight decay only on views whose `decay` is true.
    func update(_ store: ParameterStore)
    /// Named flat state buffers, each `store.count` long.
    var state: [(name: String, tensor: Tensor)] { get }
}

extension AdamW: Optimizer {
    public var state: [(name: String, tensor: Tensor)] { [("m", m), ("v", v)] }
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

    public func update(_ store: ParameterStore) {
        let p = store.values.ptr, g = store.grads.ptr, b = buffer.ptr
        let first = step == 0
        step += 1
        for view in store.views {
            let wd: Float = view.decay ? weightDecay : 0
            for i in view.offset..<(view.offset + view.count) {
                let gi = g[i] + wd * p[i]
                let bi = first ? gi : momentum * b[i] + gi
                b[i] = bi
                p[i] -= lr * bi
            }
        }
    }
}

/// Learning rate at a step: linear warmup from 0 over `warmupSteps`, then cosine decay from
/// `peak` to `minLR` at `totalSteps` (or constant at `peak`).
public struct LRSchedule: Sendable, Equatable {
    public var peak: Float
    public var minLR: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var cosine: Bool

    public init(peak: Float, minLR: Float = 0, warmupSteps: Int = 0, totalSteps: Int, cosine: Bool = true) {
        self.peak = peak; self.minLR = minLR; self.warmupSteps = warmupSteps; self.totalSteps = totalSteps; self.cosine = cosine
    }

    /// The rate for update number `step` (0-based).
    public func lr(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        guard cosine else { return peak }
        let span = max(1, totalSteps - warmupSteps)
        let t = min(1, Double(step - warmupSteps) / Double(span))
        return minLR + (peak - minLR) * Float(0.5 * (1 + cos(Double.pi * t)))
    }
}
