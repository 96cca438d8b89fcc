/// SIMD16 elementary functions for hot loops (exp for softmax, the normal CDF for GELU).
/// Accuracy: `exp` ≈ 2 ulp (Cephes expf polynomial), erf from Abramowitz–Stegun 7.1.26
/// (|error| ≤ 1.5e-7).
public enum FastMath {
    public typealias V = SIMD16<Float>

    /// e^x for each lane (inputs clamped to [−87.3, 88.7]).
    @inlinable @inline(__always)
    public static func exp(_ x0: V) -> V {
        let lo = V(repeating: -87.3), hi = V(repeating: 87.3)
        var x = x0.replacing(with: lo, where: x0 .< lo)
        x.replace(with: hi, where: x .> hi)
        // Round x·log2(e) to an integer k with the 1.5·2²³ trick; its bits then hold k.
        let magic: Float = 12_582_912
        let t = x * 1.44269504088896341 + magic
        let k = t - magic
        let r = x - k * 0.693359375 + k * 2.12194440e-4
        var p = V(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * (r * r) + r + 1
        let ki = unsafeBitCast(t, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((ki &+ 127) &<< 23, to: V.self)
        return p * scale
    }

    /// Normal CDF Φ(x) and e^{−x²/2} for each lane.
    @inlinable @inline(__always)
    public static func phi(_ x: V) -> (cdf: V, gauss: V) {
        let z = x * 0.70710678118654752
        let bits = unsafeBitCast(z, to: SIMD16<UInt32>.self)
        let sign = bits & 0x8000_0000
        let az = unsafeBitCast(bits & 0x7FFF_FFFF, to: V.self)
        let t = 1 / (1 + 0.3275911 * az)
        var poly = V(repeating: 1.061405429)
        poly = poly * t - 1.453152027
        poly = poly * t + 1.421413741
        poly = poly * t - 0.284496736
        poly = poly * t + 0.254829592
        poly = poly * t
        let g = exp(-(az * az))
        let e = 1 - poly * g
        let erf = unsafeBitCast(unsafeBitCast(e, to: SIMD16<UInt32>.self) | sign, to: V.self)
        return (0.5 * (1 + erf), g)
    }

    /// Writes `e[j] = exp(x[j] − max x)` (may be in place, `e == x`) and returns the max and
    /// Σ e[j]: the shared core of softmax and log-sum-exp.
    @inlinable
    public static func expShifted(_ x: UnsafePointer<Float>, into e: UnsafeMutablePointer<Float>, _ n: Int) -> (max: Float, sum: Float) {
        let xr = UnsafeRawPointer(x), er = UnsafeMutableRawPointer(e)
        var i = 0
        var mv = V(repeating: -.infinity)
        while i + 16 <= n {
            let v = xr.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            mv.replace(with: v, where: v .> mv)
            i += 16
        }
        var m = mv.max()
        while i < n { m = Swift.max(m, x[i]); i += 1 }
        i = 0
        var sv = V(repeating: 0)
        while i + 16 <= n {
            let v = exp(xr.loadUnaligned(fromByteOffset: i * 4, as: V.self) - m)
            er.storeBytes(of: v, toByteOffset: i * 4, as: V.self)
            sv += v
            i += 16
        }
        var s = sv.sum()
        while i < n { let v = expScalar(x[i] - m); e[i] = v; s += v; i += 1 }
        return (m, s)
    }

    /// In-place softmax of `n` floats.
    @inlinable
    public static func softmaxInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        let inv = 1 / expShifted(x, into: x, n).sum
        let raw = UnsafeMutableRawPointer(x)
        var i = 0
        while i + 16 <= n {
            raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: i * 4, as: V.self) * inv, toByteOffset: i * 4, as: V.self)
            i += 16
        }
        while i < n { x[i] *= inv; i += 1 }
    }

    @inlinable @inline(__always)
    public static func expScalar(_ x: Float) -> Float { exp(V(repeating: x))[0] }
}

