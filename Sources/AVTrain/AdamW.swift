#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import AVTensor

/// AdamW with decoupled weight decay, step for step as `torch.optim.AdamW` (amsgrad off):
/// `p ← p·(1 − lr·wd)`, `m ← m + (1−β1)(g − m)`, `v ← β2·v + (1−β2)·g²`,
/// `p ← p − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + eps)`.
/// Moments live in flat buffers with the parameter store's layout; views with `decay == false`
/// (norms, biases, position tables, logit scale) get no weight decay.
public final class AdamW {
    public var lr: Float
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float
    /// Steps taken so far (the bias corrections use `step` after increment).
    public var step = 0
    public let m: Tensor
    public let v: Tensor

    public init(count: Int, lr: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        m = Tensor([count]); v = Tensor([count])
    }

    /// One step over `ranges` of the flat buffers, each with its decay flag.
    public func update(params: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>,
                       ranges: [(range: Range<Int>, decay: Bool)]) {
        step += 1
        let bc1 = 1 - pow(Double(beta1), Double(step))
        let bc2 = 1 - pow(Double(beta2), Double(step))
        let stepSize = Float(Double(lr) / bc1)
        let bc2Sqrt = Float(bc2.squareRoot())
        let b1 = beta1, b2 = beta2, e = eps
        let m = self.m.ptr, v = self.v.ptr
        for (range, decay) in ranges {
            let shrink: Float = decay ? Float(1 - Double(lr) * Double(weightDecay)) : 1
            for i in range {
                let g = grads[i]
                var p = params[i] * shrink
                let mi = m[i] + (1 - b1) * (g - m[i])
                let vi = v[i] * b2 + (1 - b2) * g * g
                m[i] = mi; v[i] = vi
                p -= stepSize * (mi / (vi.squareRoot() / bc2Sqrt + e))
                params[i] = p
            }
        }
    }
}
