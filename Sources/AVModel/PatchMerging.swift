import AVTensor

/// The rearrangement half of timm 1.0's `PatchMerging`: [B, H, W, C] → [B, H/2, W/2, 4C] via
/// `reshape(B, H/2, 2, W/2, 2, C).permute(0, 1, 3, 4, 2, 5)`, i.e. the 4C row is the
/// concatenation of x[2i, 2j], x[2i+1, 2j], x[2i, 2j+1], x[2i+1, 2j+1]. LayerNorm(4C) and the
/// bias-free reduction Linear(4C → 2C) follow.
public enum PatchMerging {
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               batch: Int, height: Int, width: Int, channels c: Int) {
        let (h2, w2) = (height / 2, width / 2)
        let box = UncheckedBox((out, inp))
        Threads.parallelFor(batch * h2, minChunk: 4) { range in
            let (out, inp) = box.value
            for bi in range {
                let b = bi / h2, i = bi % h2
                for j in 0..<w2 {
                    let o = out + ((b * h2 + i) * w2 + j) * 4 * c
                    for q in 0..<4 {
                        let src = inp + ((b * height + 2 * i + (q & 1)) * width + 2 * j + (q >> 1)) * c
                        (o + q * c).update(from: src, count: c)
                    }
                }
            }
        }
    }

    /// The merged-row gradient back into `dinp` [B, H, W, C] (added, or overwriting: every
    /// position belongs to exactly one merged row).
    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                batch: Int, height: Int, width: Int, channels c: Int, accumulate: Bool) {
        if !accumulate && (height % 2 != 0 || width % 2 != 0) { dinp.update(repeating: 0, count: batch * height * width * c) }
        let (h2, w2) = (height / 2, width / 2)
        let box = UncheckedBox((dinp, dout))
        Threads.parallelFor(batch * h2, minChunk: 4) { range in
            let (dinp, dout) = box.value
            for bi in range {
                let b = bi / h2, i = bi % h2
                for j in 0..<w2 {
                    let g = dout + ((b * h2 + i) * w2 + j) * 4 * c
                    for q in 0..<4 {
                        let d = dinp + ((b * height + 2 * i + (q & 1)) * width + 2 * j + (q >> 1)) * c
                        let s = g + q * c
                        if accumulate {
                            for k in 0..<c { d[k] += s[k] }
                        } else {
                            d.update(from: s, count: c)
                        }
                    }
                }
            }
        }
    }
}
