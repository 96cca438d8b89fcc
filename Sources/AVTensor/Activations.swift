#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// GELU, exact erf form as timm/PyTorch default: `x · Φ(x)`. Backward accumulates.
public enum GELU {
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        let box = UncheckedBox((out, inp))
        Threads.parallelFor(count, minChunk: 1 << 14) { range in
            let (out, inp) = box.value
            for i in range { let x = inp[i]; out[i] = 0.5 * x * (1 + erff(x * 0.70710678118654752)) }
        }
    }

    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                dout: UnsafePointer<Float>, count: Int) {
        let box = UncheckedBox((dinp, inp, dout))
        Threads.parallelFor(count, minChunk: 1 << 14) { range in
            let (dinp, inp, dout) = box.value
            for i in range {
                let x = inp[i]
                let cdf = 0.5 * (1 + erff(x * 0.70710678118654752))
                let pdf = expf(-0.5 * x * x) * 0.39894228040143268
                dinp[i] += dout[i] * (cdf + x * pdf)
            }
        }
    }
}

/// Row-wise softmax over `cols`. Backward: `dinp += y ⊙ (dout − Σ dout ⊙ y)`.
public enum Softmax {
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let x = inp + r * cols, y = out + r * cols
            var m = -Float.infinity
            for i in 0..<cols { m = max(m, x[i]) }
            var s: Float = 0
            for i in 0..<cols { let e = expf(x[i] - m); y[i] = e; s += e }
            let inv = 1 / s
            for i in 0..<cols { y[i] *= inv }
        }
    }

    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>, out: UnsafePointer<Float>,
                                dout: UnsafePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let y = out + r * cols, g = dout + r * cols, d = dinp + r * cols
            let dotGY = Reduce.dot(g, y, cols)
            for i in 0..<cols { d[i] += y[i] * (g[i] - dotGY) }
        }
    }
}

/// Row-wise L2 normalisation `y = x / max(‖x‖, eps)`; forward saves the norms.
/// Backward (for ‖x‖ > eps): `dx += (dy − y · ⟨dy, y⟩) / ‖x‖`.
public enum L2Normalize {
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, norms: UnsafeMutablePointer<Float>,
                               inp: UnsafePointer<Float>, rows: Int, cols: Int, eps: Float = 1e-12) {
        for r in 0..<rows {
            let x = inp + r * cols, y = out + r * cols
            let n = max(Reduce.dot(x, x, cols).squareRoot(), eps)
            norms[r] = n
            let inv = 1 / n
            for i in 0..<cols { y[i] = x[i] * inv }
        }
    }

    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>, out: UnsafePointer<Float>,
                                norms: UnsafePointer<Float>, dout: UnsafePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let y = out + r * cols, g = dout + r * cols, d = dinp + r * cols
            let proj = Reduce.dot(g, y, cols), inv = 1 / norms[r]
            for i in 0..<cols { d[i] += (g[i] - y[i] * proj) * inv }
        }
    }
}

/// Residual connection `out = a + b`. Backward passes `dout` to both branches (accumulating).
public enum Residual {
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = a[i] + b[i] }
    }

    @inlinable
    public static func backward(da: UnsafeMutablePointer<Float>, db: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { da[i] += dout[i]; db[i] += dout[i] }
    }
}

/// Mean over the token axis: `[B, T, C] → [B, C]`. Backward spreads `dout / T` (accumulating).
public enum MeanPool {
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               batch: Int, tokens: Int, channels: Int) {
        let inv = 1 / Float(tokens)
        for b in 0..<batch {
            let o = out + b * channels
            o.update(repeating: 0, count: channels)
            for t in 0..<tokens {
                let x = inp + (b * tokens + t) * channels
                for c in 0..<channels { o[c] += x[c] }
            }
            for c in 0..<channels { o[c] *= inv }
        }
    }

    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                batch: Int, tokens: Int, channels: Int) {
        let inv = 1 / Float(tokens)
        for b in 0..<batch {
            let g = dout + b * channels
            for t in 0..<tokens {
                let d = dinp + (b * tokens + t) * channels
                for c in 0..<channels { d[c] += g[c] * inv }
            }
        }
    }
}
