/// Where each token of one stage sits in the (shifted) window layout, and the masks and relative
/// position indices that go with it. Computed once per stage resolution (timm 1.0 semantics).
///
/// timm shrinks the window per axis to the resolution where the resolution is not larger than the
/// window, and sets the shift of that axis to 0. Shifted windows are `torch.roll(x, -shift)`
/// followed by window partition; both are one index map here: window-order row `r` of a sample
/// holds token `tokenOfRow[r]` (row-major `i·W + j`). A side that is not a multiple of its window
/// is zero-padded at the end after the shift (timm 1.0 `_attn`): padded rows have index −1, and
/// the shifted-window mask is computed on the padded size.
public struct WindowGeometry: Sendable {
    public let height: Int, width: Int
    public let windowH: Int, windowW: Int
    public let shiftH: Int, shiftW: Int
    /// Tokens per window.
    public var windowArea: Int { windowH * windowW }
    /// Padded sides (multiples of the window).
    public var paddedH: Int { (height + windowH - 1) / windowH * windowH }
    public var paddedW: Int { (width + windowW - 1) / windowW * windowW }
    /// Windows per sample.
    public var windowsPerSample: Int { (paddedH / windowH) * (paddedW / windowW) }
    /// Tokens per sample.
    public var tokens: Int { height * width }
    /// Window-order rows per sample (tokens plus padding).
    public var windowRows: Int { paddedH * paddedW }
    public var padded: Bool { windowRows != tokens }
    public var shifted: Bool { shiftH > 0 || shiftW > 0 }
    /// Rows of `relative_position_bias_table`: (2·Wh − 1)(2·Ww − 1).
    public var tableRows: Int { (2 * windowH - 1) * (2 * windowW - 1) }
    /// Window-order row → token index (within one sample), −1 for padding.
    public let tokenOfRow: [Int32]
    /// `relative_position_index` [N, N] as timm computes it.
    public let relativeIndex: [Int32]
    /// Shifted-window mask [windows, N, N] with 0 / −100 (empty when not shifted).
    public let mask: [Float]

    /// Geometry of a block at resolution `height`×`width` with target `window` and, for odd blocks,
    /// `shift` = window / 2.
    public init(height: Int, width: Int, window: Int, shift: Int) throws {
        self.height = height; self.width = width
        windowH = min(height, window); windowW = min(width, window)
        shiftH = height <= windowH ? 0 : shift
        shiftW = width <= windowW ? 0 : shift
        guard height > 0, width > 0, window > 0, shift >= 0, shift < window else {
            throw SwinError("invalid window geometry: resolution \(height)×\(width), window \(window), shift \(shift)")
        }
        let (wh, ww, sh, sw) = (windowH, windowW, shiftH, shiftW)
        let (hp, wp) = ((height + wh - 1) / wh * wh, (width + ww - 1) / ww * ww)
        let nWw = wp / ww, n = wh * ww
        var map = [Int32](repeating: -1, count: hp * wp)
        for i in 0..<height {
            for j in 0..<width {
                let r = (((i / wh) * nWw + j / ww) * wh + i % wh) * ww + j % ww
                map[r] = Int32(((i + sh) % height) * width + (j + sw) % width)
            }
        }
        tokenOfRow = map
        var rel = [Int32](repeating: 0, count: n * n)
        for a in 0..<n {
            for b in 0..<n {
                let dy = a / ww - b / ww + wh - 1, dx = a % ww - b % ww + ww - 1
                rel[a * n + b] = Int32(dy * (2 * ww - 1) + dx)
            }
        }
        relativeIndex = rel
        if sh > 0 || sw > 0 {
            // Regions of the shifted image as timm's slices (0,-ws), (-ws,-shift), (-shift,None).
            func region(_ p: Int, _ size: Int, _ w: Int, _ s: Int) -> Int {
                if s == 0 { return 0 }
                return p < size - w ? 0 : (p < size - s ? 1 : 2)
            }
            let nW = (hp / wh) * nWw
            var m = [Float](repeating: 0, count: nW * n * n)
            var reg = [Int](repeating: 0, count: n)
            for w in 0..<nW {
                let wi = w / nWw, wj = w % nWw
                for a in 0..<n {
                    let i = wi * wh + a / ww, j = wj * ww + a % ww
                    reg[a] = region(i, hp, wh, sh) * 3 + region(j, wp, ww, sw)
                }
                for a in 0..<n { for b in 0..<n where reg[a] != reg[b] { m[(w * n + a) * n + b] = -100 } }
            }
            mask = m
        } else {
            mask = []
        }
    }
}

/// A configuration or shape problem in the Swin encoder, with a readable reason.
public struct SwinError: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
