import AVTensor

/// SpecAugment on a spectrogram [bins, frames] (row-major): optional time warp, then frequency
/// masks and time masks. A mask's width is uniform in 0...maxWidth and its start uniform over the
/// positions where it fits; masks may overlap. Masked values are set to `fill` (0 = the mean of
/// normalised log-mel). Deterministic for a given `Rng` state.
public struct SpecAugment: Sendable, Equatable {
    public var freqMasks: Int, freqMaxWidth: Int
    public var timeMasks: Int, timeMaxWidth: Int
    /// Maximum shift of the warp point in frames (0 = no warp).
    public var timeWarp: Int
    public var fill: Float

    public init(freqMasks: Int, freqMaxWidth: Int, timeMasks: Int, timeMaxWidth: Int, timeWarp: Int = 0, fill: Float = 0) {
        self.freqMasks = freqMasks; self.freqMaxWidth = freqMaxWidth
        self.timeMasks = timeMasks; self.timeMaxWidth = timeMaxWidth
        self.timeWarp = timeWarp; self.fill = fill
    }

    /// Masks as configured for a spectrogram of `bins` mel bins and `frames` frames
    /// (maximum widths ⌊fraction · size⌋).
    public init(_ c: FrontEndConfig, bins: Int, frames: Int) {
        self.init(freqMasks: c.freqMasks, freqMaxWidth: Int(c.freqMaxFraction * Float(bins)),
                  timeMasks: c.timeMasks, timeMaxWidth: Int(c.timeMaxFraction * Float(frames)), timeWarp: c.timeWarp)
    }

    /// One mask: rows (frequency) or columns (time) start ..< start + width.
    public struct Mask: Sendable, Equatable {
        public enum Axis: Sendable { case frequency, time }
        public let axis: Axis, start: Int, width: Int
        public init(axis: Axis, start: Int, width: Int) { self.axis = axis; self.start = start; self.width = width }
    }

    /// One warp: the frame at `center` moves to `center + shift`.
    public struct Warp: Sendable, Equatable {
        public let center: Int, shift: Int
        public init(center: Int, shift: Int) { self.center = center; self.shift = shift }
    }

    /// Draws the warp (nil when off or the spectrogram is too short), then the frequency masks,
    /// then the time masks.
    public func draw(bins: Int, frames: Int, rng: inout Rng) -> (warp: Warp?, masks: [Mask]) {
        var warp: Warp?
        if timeWarp > 0 && frames > 2 * timeWarp + 2 {
            let center = timeWarp + 1 + rng.below(frames - 2 * timeWarp - 2)
            warp = Warp(center: center, shift: rng.below(2 * timeWarp + 1) - timeWarp)
        }
        var masks = [Mask]()
        func add(_ axis: Mask.Axis, _ count: Int, _ maxWidth: Int, _ size: Int) {
            let mw = min(maxWidth, size)
            for _ in 0..<count {
                let w = rng.below(mw + 1)
                masks.append(Mask(axis: axis, start: rng.below(size - w + 1), width: w))
            }
        }
        add(.frequency, freqMasks, freqMaxWidth, bins)
        add(.time, timeMasks, timeMaxWidth, frames)
        return (warp, masks)
    }

    /// Augments `s` [bins, frames] in place.
    public func apply(_ s: inout [Float], bins: Int, frames: Int, rng: inout Rng) {
        precondition(s.count == bins * frames, "SpecAugment: \(s.count) values ≠ \(bins)×\(frames)")
        let (warp, masks) = draw(bins: bins, frames: frames, rng: &rng)
        if let w = warp { Self.warp(&s, bins: bins, frames: frames, w) }
        for m in masks {
            switch m.axis {
            case .frequency:
                for b in m.start..<(m.start + m.width) {
                    for t in 0..<frames { s[b * frames + t] = fill }
                }
            case .time:
                for b in 0..<bins {
                    for t in m.start..<(m.start + m.width) { s[b * frames + t] = fill }
                }
            }
        }
    }

    /// Piecewise-linear time warp: frames 0…center are stretched onto 0…center+shift and
    /// center…frames−1 onto center+shift…frames−1, each row resampled by linear interpolation.
    public static func warp(_ s: inout [Float], bins: Int, frames: Int, _ w: Warp) {
        if w.shift == 0 { return }
        let c = Double(w.center), d = Double(w.center + w.shift), last = Double(frames - 1)
        let src: [Double] = (0..<frames).map { t in
            let x = Double(t)
            return x <= d ? x * c / d : c + (x - d) * (last - c) / (last - d)
        }
        var row = [Float](repeating: 0, count: frames)
        for b in 0..<bins {
            for t in 0..<frames { row[t] = s[b * frames + t] }
            for t in 0..<frames {
                let i = min(Int(src[t]), frames - 2), f = Float(src[t] - Double(i))
                s[b * frames + t] = row[i] * (1 - f) + row[i + 1] * f
            }
        }
    }
}
