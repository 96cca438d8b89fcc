import AVTensor

/// Cyclic shift + window partition as one row gather (`WindowGeometry.tokenOfRow`), and its
/// inverse. Rows are `channels` floats; token order holds `batch` samples of `tokens` rows, window
/// order `batch` samples of `rows` rows (`rows` ≥ `tokens`; map entries −1 are zero padding).
public enum WindowPartition {
    /// `out[b, r] = inp[b, map[r]]` (token order → window order; padding rows are zero).
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, map: UnsafePointer<Int32>,
                               batch: Int, tokens: Int, rows: Int? = nil, channels: Int) {
        let rows = rows ?? tokens
        let box = UncheckedBox((out, inp, map))
        Threads.parallelFor(batch * rows, minChunk: 256) { range in
            let (out, inp, map) = box.value
            for row in range {
                let b = row / rows, t = Int(map[row - b * rows])
                if t < 0 {
                    (out + row * channels).update(repeating: 0, count: channels)
                } else {
                    (out + row * channels).update(from: inp + (b * tokens + t) * channels, count: channels)
                }
            }
        }
    }

    /// Window order → token order: `dinp[b, map[r]] (+)= dout[b, r]` (padding rows are dropped).
    /// Every token appears once in the map, so with `accumulate: false` every row of `dinp` is
    /// overwritten.
    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, map: UnsafePointer<Int32>,
                                batch: Int, tokens: Int, rows: Int? = nil, channels: Int, accumulate: Bool) {
        let rows = rows ?? tokens
        let box = UncheckedBox((dinp, dout, map))
        Threads.parallelFor(batch * rows, minChunk: 256) { range in
            let (dinp, dout, map) = box.value
            for row in range {
                let b = row / rows, t = Int(map[row - b * rows])
                if t < 0 { continue }
                let d = dinp + (b * tokens + t) * channels, g = dout + row * channels
                if accumulate {
                    for c in 0..<channels { d[c] += g[c] }
                } else {
                    d.update(from: g, count: channels)
                }
            }
        }
    }

    /// Reverse partition fused with the residual: `out[b, map[r]] = x[b, map[r]] + scale[b] · branch[b, r]`
    /// (`scale` is the per-sample drop-path factor; nil means 1; padding rows are dropped).
    @inlinable
    public static func residual(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, branch: UnsafePointer<Float>,
                                scale: UnsafePointer<Float>?, map: UnsafePointer<Int32>,
                                batch: Int, tokens: Int, rows: Int? = nil, channels: Int) {
        let rows = rows ?? tokens
        let box = UncheckedBox((out, x, branch, map, scale))
        Threads.parallelFor(batch * rows, minChunk: 256) { range in
            let (out, x, branch, map, scale) = box.value
            for row in range {
                let b = row / rows, m = Int(map[row - b * rows])
                if m < 0 { continue }
                let t = (b * tokens + m) * channels
                let s = scale?[b] ?? 1
                let o = out + t, xi = x + t, y = branch + row * channels
                for c in 0..<channels { o[c] = xi[c] + s * y[c] }
            }
        }
    }

    /// Backward of the branch side of `residual`: `dbranch[b, r] (+)= scale[b] · dout[b, map[r]]`
    /// (padding rows get no gradient: 0 when overwriting).
    @inlinable
    public static func residualBackward(dbranch: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                        scale: UnsafePointer<Float>?, map: UnsafePointer<Int32>,
                                        batch: Int, tokens: Int, rows: Int? = nil, channels: Int, accumulate: Bool) {
        let rows = rows ?? tokens
        let box = UncheckedBox((dbranch, dout, map, scale))
        Threads.parallelFor(batch * rows, minChunk: 256) { range in
            let (dbranch, dout, map, scale) = box.value
            for row in range {
                let b = row / rows, m = Int(map[row - b * rows])
                let d = dbranch + row * channels
                if m < 0 {
                    if !accumulate { d.update(repeating: 0, count: channels) }
                    continue
                }
                let s = scale?[b] ?? 1
                let g = dout + (b * tokens + m) * channels
                if accumulate {
                    for c in 0..<channels { d[c] += s * g[c] }
                } else {
                    for c in 0..<channels { d[c] = s * g[c] }
                }
            }
        }
    }
}
