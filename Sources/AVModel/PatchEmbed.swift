import AVTensor

/// The rearrangement half of timm's `PatchEmbed` (a conv with kernel = stride = patch): images
/// [B, Cin, H, W] ↔ patch rows [B, H/p, W/p, Cin·p·p] (row order `ci, ky, kx`, as the conv
/// weight [C, Cin, p, p] flattens). The conv is then `Linear` with that weight, then LayerNorm.
public enum PatchEmbed {
    /// Image → patch rows.
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               batch: Int, channels: Int, height: Int, width: Int, patch p: Int) {
        let (gh, gw) = (height / p, width / p), k = channels * p * p
        let box = UncheckedBox((out, inp))
        Threads.parallelFor(batch * gh, minChunk: 4) { range in
            let (out, inp) = box.value
            for bi in range {
                let b = bi / gh, i = bi % gh
                for j in 0..<gw {
                    let o = out + ((b * gh + i) * gw + j) * k
                    for c in 0..<channels {
                        for ky in 0..<p {
                            let src = inp + ((b * channels + c) * height + i * p + ky) * width + j * p
                            (o + (c * p + ky) * p).update(from: src, count: p)
                        }
                    }
                }
            }
        }
    }

    /// Patch-row gradients → image gradient (added into `dinp`, or overwriting it; pixels no
    /// patch covers then get 0).
    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                batch: Int, channels: Int, height: Int, width: Int, patch p: Int, accumulate: Bool) {
        if !accumulate { dinp.update(repeating: 0, count: batch * channels * height * width) }
        let (gh, gw) = (height / p, width / p), k = channels * p * p
        let box = UncheckedBox((dinp, dout))
        Threads.parallelFor(batch * gh, minChunk: 4) { range in
            let (dinp, dout) = box.value
            for bi in range {
                let b = bi / gh, i = bi % gh
                for j in 0..<gw {
                    let g = dout + ((b * gh + i) * gw + j) * k
                    for c in 0..<channels {
                        for ky in 0..<p {
                            let d = dinp + ((b * channels + c) * height + i * p + ky) * width + j * p
                            let s = g + (c * p + ky) * p
                            for kx in 0..<p { d[kx] += s[kx] }
                        }
                    }
                }
            }
        }
    }
}
