/// 16-bit PCM, the shards' waveform format: `int16 = round(x · 32768)` clipped to the int16
/// range, and back `x = int16 / 32768`.
public enum PCM16 {
    /// Float samples in [-1, 1] → int16 (×32768, rounded, clipped).
    @inlinable
    public static func encode(_ x: Float) -> Int16 { Int16(max(-32768, min(32767, (x * 32768).rounded()))) }

    /// Float samples → int16, `count` long: cropped, or zero-padded at the end.
    public static func encode(_ x: [Float], count: Int? = nil) -> [Int16] {
        let n = count ?? x.count
        var out = [Int16](repeating: 0, count: n)
        for i in 0..<min(n, x.count) { out[i] = encode(x[i]) }
        return out
    }

    /// int16 → float (÷32768).
    @inlinable
    public static func decode(_ v: Int16) -> Float { Float(v) * (1 / 32768) }

    /// int16 samples → floats.
    public static func decode(_ x: [Int16]) -> [Float] { x.map(decode) }

    /// `count` int16 samples at `src` → floats at `dst`.
    @inlinable
    public static func decode(_ src: UnsafePointer<Int16>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dst[i] = decode(src[i]) }
    }
}
