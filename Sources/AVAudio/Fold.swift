/// HTSAT folding: a spectrogram [nMels, chunks·width] (row-major) becomes an image
/// [chunks·nMels, width] whose chunk c (rows c·nMels ..< (c+1)·nMels) holds frames c·width ..< (c+1)·width.
/// E.g. 64 mels × 1024 frames → 256 × 256.
public enum Fold {
    /// Spectrogram [nMels, chunks·width] → image [chunks·nMels, width].
    public static func fold(_ s: [Float], nMels: Int, width: Int, chunks: Int) -> [Float] {
        precondition(s.count == nMels * chunks * width, "Fold: \(s.count) values ≠ \(nMels)×\(chunks)×\(width)")
        var out = [Float](repeating: 0, count: s.count)
        for c in 0..<chunks {
            for m in 0..<nMels {
                let src = m * chunks * width + c * width, dst = (c * nMels + m) * width
                out.replaceSubrange(dst..<(dst + width), with: s[src..<(src + width)])
            }
        }
        return out
    }

    /// Image [chunks·nMels, width] → spectrogram [nMels, chunks·width] (inverse of `fold`).
    public static func unfold(_ image: [Float], nMels: Int, width: Int, chunks: Int) -> [Float] {
        precondition(image.count == nMels * chunks * width, "Fold: \(image.count) values ≠ \(nMels)×\(chunks)×\(width)")
        var out = [Float](repeating: 0, count: image.count)
        for c in 0..<chunks {
            for m in 0..<nMels {
                let dst = m * chunks * width + c * width, src = (c * nMels + m) * width
                out.replaceSubrange(dst..<(dst + width), with: image[src..<(src + width)])
            }
        }
        return out
    }
}
