import AVTensor

/// Cyclic shift + window partition as one row gather (`WindowGeometry.tokenOfRow`), and its
/// inverse. Rows are `channels` floats; token order holds `batch` samples of `tokens` rows, window
/// order `batch` samples of `rows` rows (`rows` ≥ `tokens`; map entries −1 are zero padding).
public enum WindowPartition {
    /// `out[b, r] = inp[b, map[r]]` (token order → window order; padding rows are zero).
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, map: UnsafePointer<Int32>,
                               batch: Int, tokens: Int, rows: Int? = nil, channels: Int) {
        let box = UncheckedBox((out, inp))
        forEachRow(map: map, batch: batch, tokens: tokens, rows: rows) { row, token in
            let o = box.value.0 + row * channels
            if let token { o.update(from: box.value.1 + token * channels, count: channels) } else { o.update(repeating: 0, count: channels) }
        }
    }

    /// Window order → token order: `dinp[b, map[r]] (+)= dout[b, r]` (padding rows are dropped).
    /// Every token appears once in the map, so with `accumulate: false` every row of `dinp` is
    /// overwritten.
    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, map: UnsafePointer<Int32>,
                                batch: Int, tokens: Int, rows: Int? = nil, channels: Int, accumulate: Bool) {
        let box = UncheckedBox((dinp, dout))
        forEachRow(map: map, batch: batch, tokens: tokens, rows: rows) { row, token in
            if let token { Reduce.store(box.value.0 + token * channels, box.value.1 + row * channels, channels, accumulate: accumulate) }
        }
    }

    /// Reverse partition fused with the residual: `out[b, map[r]] = x[b, map[r]] + scale[b] · branch[b, r]`
    /// (`scale` is the per-sample drop-path factor; nil means 1; padding rows are dropped).
    @inlinable
    public static func residual(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, branch: UnsafePointer<Float>,
                                scale: UnsafePointer<Float>?, map: UnsafePointer<Int32>,
                                batch: Int, tokens: Int, rows: Int? = nil, channels: Int) {
        let box = UncheckedBox((out, x, branch, scale)), perSample = rows ?? tokens
        forEachRow(map: map, batch: batch, tokens: tokens, rows: rows) { row, token in
            guard let token else { return }
            let (out, x, branch, scale) = box.value
            let s = scale?[row / perSample] ?? 1
            let o = out + token * channels, xi = x + token * channels, y = branch + row * channels
            for c in 0..<channels { o[c] = xi[c] + s * y[c] }
        }
    }

    /// Backward of the branch side of `residual`: `dbranch[b, r] (+)= scale[b] · dout[b, map[r]]`
    /// (padding rows get no gradient: 0 when overwriting).
    @inlinable
    public static func residualBackward(dbranch: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                        scale: UnsafePointer<Float>?, map: UnsafePointer<Int32>,
                                        batch: Int, tokens: Int, rows: Int? = nil, channels: Int, accumulate: Bool) {
        let box = UncheckedBox((dbranch, dout, scale)), perSample = rows ?? tokens
        forEachRow(map: map, batch: batch, tokens: tokens, rows: rows) { row, token in
            let (dbranch, dout, scale) = box.value
            let d = dbranch + row * channels
            guard let token else {
                if !accumulate { d.update(repeating: 0, count: channels) }
                return
            }
            let s = scale?[row / perSample] ?? 1, g = dout + token * channels
            if accumulate {
                for c in 0..<channels { d[c] += s * g[c] }
            } else {
                for c in 0..<channels { d[c] = s * g[c] }
            }
        }
    }

    /// Calls `body(windowRow, tokenRow)` for every window-order row of the batch (`tokenRow` nil
    /// for padding), rows split over the thread budget. Both are global row indices.
    @inlinable
    static func forEachRow(map: UnsafePointer<Int32>, batch: Int, tokens: Int, rows: Int?, _ body: (Int, Int?) -> Void) {
        let rows = rows ?? tokens
        Threads.forEach(batch * rows, minChunk: 256) { row in
            let b = row / rows, t = Int(map[row - b * rows])
            body(row, t < 0 ? nil : b * tokens + t)
        }
    }
}
