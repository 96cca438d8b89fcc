import AVTensor

/// The rearrangement half of timm 1.0's `PatchMerging`: [B, H, W, C] → [B, H/2, W/2, 4C] via
/// `reshape(B, H/2, 2, W/2, 2, C).permute(0, 1, 3, 4, 2, 5)`, i.e. the 4C row is the
/// concatenation of x[2i, 2j], x[2i+1, 2j], x[2i, 2j+1], x[2i+1, 2j+1]. LayerNorm(4C) and the
/// bias-free reduction Linear(4C → 2C) follow.
public enum PatchMerging {
    @inlinable
    public static func forward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                               batch: Int, height: Int, width: Int, channels c: Int) {
        let box = UncheckedBox((out, inp))
        forEachQuarter(batch: batch, height: height, width: width, channels: c) { merged, position in
            (box.value.0 + merged).update(from: box.value.1 + position, count: c)
        }
    }

    /// The merged-row gradient back into `dinp` [B, H, W, C] (added, or overwriting: every
    /// position belongs to exactly one merged row).
    @inlinable
    public static func backward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                batch: Int, height: Int, width: Int, channels c: Int, accumulate: Bool) {
        if !accumulate && (height % 2 != 0 || width % 2 != 0) { dinp.update(repeating: 0, count: batch * height * width * c) }
        let box = UncheckedBox((dinp, dout))
        forEachQuarter(batch: batch, height: height, width: width, channels: c) { merged, position in
            Reduce.store(box.value.0 + position, box.value.1 + merged, c, accumulate: accumulate)
        }
    }

    /// Calls `body(mergedOffset, positionOffset)` for each of the 4 quarters (C floats) of every
    /// merged row (rows split over the thread budget; positions never repeat).
    @inlinable
    static func forEachQuarter(batch: Int, height: Int, width: Int, channels c: Int, _ body: (Int, Int) -> Void) {
        let (h2, w2) = (height / 2, width / 2)
        Threads.forEach(batch * h2, minChunk: 4) { bi in
            let b = bi / h2, i = bi % h2
            for j in 0..<w2 {
                for q in 0..<4 { body(((b * h2 + i) * w2 + j) * 4 * c + q * c, ((b * height + 2 * i + (q & 1)) * width + 2 * j + (q >> 1)) * c) }
            }
        }
    }
}
