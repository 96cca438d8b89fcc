#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// GELU, exact erf form as timm/PyTorch default: `x · Φ(x)`, vectorised with `FastMath.phi`
/// (|error| ≤ 2e-7 against the erf definition).
public enum GELU {
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        let box = UncheckedBox((out, inp))
        Threads.parallelFor((count + 15) / 16, minChunk: 1024) { range in
            let (out, inp) = box.value
            for blk in range {
                let i = blk * 16
                if i + 16 <= count {
                    let x = UnsafeRawPointer(inp + i).loadUnaligned(as: FastMath.V.self)
                    UnsafeMutableRawPointer(out + i).storeBytes(of: x * FastMath.phi(x).cdf, as: FastMath.V.self)
                } else {
                    for j in i..<count { let x = inp[j]; out[j] = x * FastMath.phi(FastMath.V(repeating: x)).cdf[0] }
                }
            }
        }
    }

    /// `dinp (+)= dout · (Φ(x) + x · φ(x))`; with `accumulate: false` it overwrites, which allows
    /// `dinp == dout` (in place).
    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                dout: UnsafePointer<Float>, count: Int, accumulate: Bool) {
        let box = UncheckedBox((dinp, inp, dout))
        let invSqrt2Pi: Float = 0.39894228040143268
        Threads.parallelFor((count + 15) / 16, minChunk: 1024) { range in
            let (dinp, inp, dout) = box.value
            for blk in range {
                let i = blk * 16
                if i + 16 <= count {
                    let x = UnsafeRawPointer(inp + i).loadUnaligned(as: FastMath.V.self)
                    let g = UnsafeRawPointer(dout + i).loadUnaligned(as: FastMath.V.self)
                    let (cdf, gauss) = FastMath.phi(x)
                    var d = g * (cdf + x * gauss * invSqrt2Pi)
                    if accumulate { d += UnsafeRawPointer(dinp + i).loadUnaligned(as: FastMath.V.self) }
                    UnsafeMutableRawPointer(dinp + i).storeBytes(of: d, as: FastMath.V.self)
                } else {
                    for j in i..<count {
                        let (cdf, gauss) = FastMath.phi(FastMath.V(repeating: inp[j]))
                        let d = dout[j] * (cdf[0] + inp[j] * gauss[0] * invSqrt2Pi)
                        dinp[j] = accumulate ? dinp[j] + d : d
                    }
                }
            }
        }
    }
}

/// Row-wise softmax over `cols` (vectorised exp, `FastMath.softmaxInPlace`).
/// Backward: `dinp (+)= y ⊙ (dout − Σ dout ⊙ y)`; overwriting allows `dinp == dout` (in place).
public enum Softmax {
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, rows: Int, cols: Int) {
        if UnsafePointer(out) != inp { out.update(from: inp, count: rows * cols) }
        for r in 0..<rows { FastMath.softmaxInPlace(out + r * cols, cols) }
    }

    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>, out: UnsafePointer<Float>,
                                dout: UnsafePointer<Float>, rows: Int, cols: Int, accumulate: Bool) {
        for r in 0..<rows {
            let y = out + r * cols, g = dout + r * cols, d = dinp + r * cols
            let dotGY = Reduce.dot(g, y, cols)
            if accumulate {
                for i in 0..<cols { d[i] += y[i] * (g[i] - dotGY) }
            } else {
                for i in 0..<cols { d[i] = y[i] * (g[i] - dotGY) }
            }
        }
    }
}

/// Row-wise L2 normalisation `y = x / max(‖x‖, eps)`; forward saves the norms and may write
/// its rows at a stride `ldOut` ≥ `cols` (into a wider table). Backward (for ‖x‖ > eps):
/// `dx (+)= (dy − y · ⟨dy, y⟩) / ‖x‖`.
public enum L2Normalize {
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, norms: UnsafeMutablePointer<Float>,
                               inp: UnsafePointer<Float>, rows: Int, cols: Int, ldOut: Int? = nil, eps: Float = 1e-12) {
        let ld = ldOut ?? cols
        for r in 0..<rows {
            let x = inp + r * cols, y = out + r * ld
            let n = max(Reduce.dot(x, x, cols).squareRoot(), eps)
            norms[r] = n
            let inv = 1 / n
            for i in 0..<cols { y[i] = x[i] * inv }
        }
    }

    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>, out: UnsafePointer<Float>,
                                norms: UnsafePointer<Float>, dout: UnsafePointer<Float>, rows: Int, cols: Int, accumulate: Bool) {
        for r in 0..<rows {
            let y = out + r * cols, g = dout + r * cols, d = dinp + r * cols
            let proj = Reduce.dot(g, y, cols), inv = 1 / norms[r]
            if accumulate {
                for i in 0..<cols { d[i] += (g[i] - y[i] * proj) * inv }
            } else {
                for i in 0..<cols { d[i] = (g[i] - y[i] * proj) * inv }
            }
        }
    }
}

/// Mean over the token axis: `[B, T, C] → [B, C]`. Backward spreads `dout / T` into every token.
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
                                batch: Int, tokens: Int, channels: Int, accumulate: Bool) {
        let inv = 1 / Float(tokens)
        for b in 0..<batch {
            let g = dout + b * channels
            for t in 0..<tokens {
                let d = dinp + (b * tokens + t) * channels
                if accumulate {
                    for c in 0..<channels { d[c] += g[c] * inv }
                } else {
                    for c in 0..<channels { d[c] = g[c] * inv }
                }
            }
        }
    }
}
