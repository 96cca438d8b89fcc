import AVTensor

/// Cropping and padding a waveform to a fixed number of samples.
public enum FixedLength {
    /// How a short clip is lengthened.
    public enum Pad: String, Sendable, Codable, CaseIterable {
        /// Silence after the clip.
        case zero
        /// The clip tiled until it is long enough (silence if the clip is empty).
        case `repeat`
    }

    /// Where a crop of `length` samples starts in a clip of `count` samples: uniformly random in
    /// training, centred otherwise (0 when the clip is not longer than `length`).
    /// Draws from `rng` only when training and cropping.
    public static func cropStart(count: Int, length: Int, training: Bool, rng: inout Rng) -> Int {
        let slack = count - length
        if slack <= 0 { return 0 }
        return training ? rng.below(slack + 1) : slack / 2
    }

    /// `x` cropped at `start` (clamped) or padded to exactly `length` samples.
    public static func apply(_ x: [Float], length: Int, pad: Pad, start: Int = 0) -> [Float] {
        if x.count >= length {
            let s = min(max(0, start), x.count - length)
            return Array(x[s..<(s + length)])
        }
        var out = [Float](repeating: 0, count: length)
        if x.isEmpty { return out }
        switch pad {
        case .zero:
            out.replaceSubrange(0..<x.count, with: x)
        case .repeat:
            var i = 0
            while i < length {
                let n = min(x.count, length - i)
                out.replaceSubrange(i..<(i + n), with: x[0..<n])
                i += n
            }
        }
        return out
    }

    /// Crop (random in training, centred otherwise) or pad `x` to `length` samples.
    public static func apply(_ x: [Float], length: Int, pad: Pad, training: Bool, rng: inout Rng) -> [Float] {
        apply(x, length: length, pad: pad, start: cropStart(count: x.count, length: length, training: training, rng: &rng))
    }
}
