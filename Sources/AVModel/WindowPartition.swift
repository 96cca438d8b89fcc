import AVTensor

/// Cyclic shift + window partition as one row gather (`WindowGeometry.tokenOfRow`), and its
/// inverse. Rows are `channels` floats; both sides hold `batch` samples of `tokens` rows.
public enum WindowPartition {
    /// `out[b, r] = inp[b, map[r]]` (token order → window order).
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, map: UnsafePointer<Int32>,
                               batch: Int, tokens: Int, channels: Int) {
        let box = UncheckedBox((out, inp, map))
        Threads.parallelFor(batch * tokens, minChunk: 256) { range in
            let (out, inp, map) = box.value
            for row in range {
                let b = row / tokens, r = row - b * tokens
                (out + row * channels).update(from: inp + (b * tokens + Int(map[r])) * channels, count: channels)
            }
        }
    }

    /// Window order → token order: `dinp[b, map[r]] += dout[b, r]` (accumulates). The map is a
    /// permutation, so with `accumulate: false` every row of `dinp` is overwritten instead.
    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, map: UnsafePointer<Int32>,
                                batch: Int, tokens: Int, channels: Int, accumulate: Bool = true) {
        let box = UncheckedBox((dinp, dout, map))
        Threads.parallelFor(batch * tokens, minChunk: 256) { range in
            let (dinp, dout, map) = box.value
            for row in range {
                let b = row / tokens, r = row - b * tokens
                let d = dinp + (b * tokens + Int(map[r])) * channels, g = dout + row * channels
                if accumulate {
                    for c in 0..<channels { d[c] += g[c] }
                } else {
                    d.update(from: g, count: channels)
                }
            }
        }
    }

    /// Reverse partition fused with the residual: `out[b, map[r]] = x[b, map[r]] + scale[b] · branch[b, r]`
    /// (`scale` is the per-sample drop-path factor; nil means 1).
    @inlinable
    public static func residual(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, branch: UnsafePointer<Float>,
                                scale: UnsafePointer<Float>?, map: UnsafePointer<Int32>,
                                batch: Int, tokens: Int, channels: Int) {
        let box = UncheckedBox((out, x, branch, map, scale))
        Threads.parallelFor(batch * tokens, minChunk: 256) { range in
            let (out, x, branch, map, scale) = box.value
            for row in range {
                let b = row / tokens, r = row - b * tokens
                let t = (b * tokens + Int(map[r])) * channels
                let s = scale?[b] ?? 1
                let o = out + t, xi = x + t, y = branch + row * channels
                for c in 0..<channels { o[c] = xi[c] + s * y[c] }
            }
        }
    }

    /// Backward of the branch side of `residual`: `dbranch[b, r] = scale[b] · dout[b, map[r]]` (overwrites).
    @inlinable
    public static func residualBackward(dbranch: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                        scale: UnsafePointer<Float>?, map: UnsafePointer<Int32>,
                                        batch: Int, tokens: Int, channels: Int) {
        let box = UncheckedBox((dbranch, dout, map, scale))
        Threads.parallelFor(batch * tokens, minChunk: 256) { range in
            let (dbranch, dout, map, scale) = box.value
            for row in range {
                let b = row / tokens, r = row - b * tokens
                let s = scale?[b] ?? 1
                let g = dout + (b * tokens + Int(map[r])) * channels, d = dbranch + row * channels
                for c in 0..<channels { d[c] = s * g[c] }
            }
        }
    }
}
