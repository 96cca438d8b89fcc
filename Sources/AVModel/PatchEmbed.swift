import AVTensor

/// The rearrangement half of timm's `PatchEmbed` (a conv with kernel = stride = patch): images
/// [B, Cin, H, W] ↔ patch rows [B, H/p, W/p, Cin·p·p] (row order `ci, ky, kx`, as the conv
/// weight [C, Cin, p, p] flattens). The conv is then `Linear` with that weight, then LayerNorm.
public enum PatchEmbed {
    /// Image → patch rows.
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               batch: Int, channels: Int, height: Int, width: Int, patch p: Int) {
        let box = UncheckedBox((out, inp))
        forEachRun(batch: batch, channels: channels, height: height, width: width, patch: p) { row, pixel in
            (box.value.0 + row).update(from: box.value.1 + pixel, count: p)
        }
    }

    /// Patch-row gradients → image gradient (added into `dinp`, or overwriting it; pixels no
    /// patch covers then get 0).
    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                batch: Int, channels: Int, height: Int, width: Int, patch p: Int, accumulate: Bool) {
        if !accumulate { dinp.update(repeating: 0, count: batch * channels * height * width) }
        let box = UncheckedBox((dinp, dout))
        forEachRun(batch: batch, channels: channels, height: height, width: width, patch: p) { row, pixel in
            Reduce.add(box.value.0 + pixel, box.value.1 + row, p)
        }
    }

    /// Calls `body(patchRowOffset, pixelOffset)` for every run of `p` floats a patch row shares
    /// with the image (rows of patches split over the thread budget; runs never overlap).
    @inlinable
    static func forEachRun(batch: Int, channels: Int, height: Int, width: Int, patch p: Int, _ body: (Int, Int) -> Void) {
        let (gh, gw) = (height / p, width / p), k = channels * p * p
        Threads.forEach(batch * gh, minChunk: 4) { bi in
            let b = bi / gh, i = bi % gh
            for j in 0..<gw {
                for c in 0..<channels {
                    for ky in 0..<p { body(((b * gh + i) * gw + j) * k + (c * p + ky) * p, ((b * channels + c) * height + i * p + ky) * width + j * p) }
                }
            }
        }
    }
}
