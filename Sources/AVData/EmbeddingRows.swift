/// The one check of CLIP embedding rows, used by pack, verify and the loader.
public enum EmbeddingRows {
    /// The first row of `v` (rows of `dim` floats) that is unusable — a NaN/inf value or all zeros
    /// (it cannot be normalised) — with the reason; nil when every row is fine.
    public static func firstBad<C: RandomAccessCollection>(_ v: C, dim: Int) -> (row: Int, reason: String)?
    where C.Element == Float, C.Index == Int {
        guard dim > 0 else { return (0, "embedding width D is 0") }
        let base = v.startIndex                                  // slices need not start at 0
        for r in 0..<(v.count / dim) {
            var ss: Float = 0
            for j in 0..<dim { let x = v[base + r * dim + j]; ss += x * x }
            if !ss.isFinite { return (r, "NaN or infinite value in row \(r)") }
            if ss < 1e-24 { return (r, "zero-norm embedding in row \(r)") }
        }
        return nil
    }
}
