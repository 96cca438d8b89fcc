/// HTSAT folding: a spectrogram [nMels, chunks·width] (row-major) becomes an image
/// [chunks·nMels, width] whose chunk c (rows c·nMels ..< (c+1)·nMels) holds frames c·width ..< (c+1)·width.
/// E.g. 64 mels × 1024 frames → 256 × 256.
public enum Fold {
    /// Spectrogram [nMels, chunks·width] → image [chunks·nMels, width].
    public static func fold(_ s: [Float], nMels: Int, width: Int, chunks: Int) -> [Float] {
        move(s, nMels: nMels, width: width, chunks: chunks, toImage: true)
    }

    /// Image [chunks·nMels, width] → spectrogram [nMels, chunks·width] (inverse of `fold`).
    public static func unfold(_ image: [Float], nMels: Int, width: Int, chunks: Int) -> [Float] {
        move(image, nMels: nMels, width: width, chunks: chunks, toImage: false)
    }

    /// Copies every (mel m, chunk c) run of `width` frames between its spectrogram offset and its
    /// image offset, in the direction asked for.
    static func move(_ x: [Float], nMels: Int, width: Int, chunks: Int, toImage: Bool) -> [Float] {
        precondition(x.count == nMels * chunks * width, "Fold: \(x.count) values ≠ \(nMels)×\(chunks)×\(width)")
        var out = [Float](repeating: 0, count: x.count)
        for c in 0..<chunks {
            for m in 0..<nMels {
                let spec = m * chunks * width + c * width, image = (c * nMels + m) * width
                let (src, dst) = toImage ? (spec, image) : (image, spec)
                out.replaceSubrange(dst..<(dst + width), with: x[src..<(src + width)])
            }
        }
        return out
    }
}
