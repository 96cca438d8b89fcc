import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// GELU, exact erf form as timm/PyTorch default: `x · Φ(x)` (|error| ≤ 2e-7 against the erf
/// definition), on the CPU's vector width (`Kernels`), chunks split over the thread budget.
public enum GELU {
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        let box = UncheckedBox((out, inp))
        Threads.parallelFor(count, minChunk: 16_384) { r in
            forwardSerial(out: box.value.0 + r.lowerBound, inp: box.value.1 + r.lowerBound, count: r.count)
        }
    }

    /// `forward` on the calling thread only (for a fused row hook, `Linear.RowHook`).
    public static func forwardSerial(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        avk_gelu_forward(out, inp, count)
    }

    /// `backward` on the calling thread only (for a fused row hook, `Linear.RowHook`).
    public static func backwardSerial(dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                      dout: UnsafePointer<Float>, count: Int, accumulate: Bool) {
        avk_gelu_backward(dinp, inp, dout, count, accumulate ? 1 : 0)
    }

    /// `dinp (+)= dout · (Φ(x) + x · φ(x))`; with `accumulate: false` it overwrites, which allows
    /// `dinp == dout` (in place).
    public static func backward(dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                dout: UnsafePointer<Float>, count: Int, accumulate: Bool) {
        let box = UncheckedBox((dinp, inp, dout))
        Threads.parallelFor(count, minChunk: 16_384) { r in
            backwardSerial(dinp: box.value.0 + r.lowerBound, inp: box.value.1 + r.lowerBound, dout: box.value.2 + r.lowerBound,
                           count: r.count, accumulate: accumulate)
        }
    }
}

/// Row-wise softmax over `cols`, at the CPU's vector width (`Kernels`).
/// Backward: `dinp (+)= y ⊙ (dout − Σ dout ⊙ y)`; overwriting allows `dinp == dout` (in place).
public enum Softmax {
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, rows: Int, cols: Int) {
        if UnsafePointer(out) != inp { out.update(from: inp, count: rows * cols) }
        avk_softmax_rows(out, nil, nil, rows, cols)
    }

    /// In place, `x = softmax(x + a + b)` per row, `a` and `b` [rows × cols] or nil (attention
    /// scores, their relative-position bias and the shifted windows' mask, in one pass).
    public static func forwardInPlace(_ x: UnsafeMutablePointer<Float>, adding a: UnsafePointer<Float>?, _ b: UnsafePointer<Float>?,
                                      rows: Int, cols: Int) {
        avk_softmax_rows(x, a, b, rows, cols)
    }

    public static func backward(dinp: UnsafeMutablePointer<Float>, out: UnsafePointer<Float>,
                                dout: UnsafePointer<Float>, rows: Int, cols: Int, accumulate: Bool) {
        avk_softmax_backward(dinp, out, dout, rows, cols, accumulate ? 1 : 0)
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
