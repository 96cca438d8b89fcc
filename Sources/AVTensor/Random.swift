/// A small, fast, seedable generator (xoshiro256**) so that every rank can reproduce the same
/// stream from the same seed. Nothing stores its state: every stream is seeded afresh from
/// (seed, epoch, clip) in the loader and (seed, step, rank) for drop path, so a checkpoint's step
/// is all a resumed run needs.
public struct Rng: RandomNumberGenerator, Sendable {
    public var state: (UInt64, UInt64, UInt64, UInt64)

    /// Seeds via SplitMix64 so that nearby seeds give unrelated streams.
    public init(seed: UInt64) {
        var z = seed
        func mix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        state = (mix(), mix(), mix(), mix())
    }

    @inlinable public mutating func next() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0; state.3 ^= state.1; state.1 ^= state.2; state.0 ^= state.3
        state.2 ^= t
        state.3 = (state.3 << 45) | (state.3 >> 19)
        return result
    }

    /// Uniform in [0, 1).
    @inlinable public mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform integer in 0..<n.
    @inlinable public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }

    /// Standard normal (Box–Muller).
    @inlinable public mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) * 0x1p-53, 1e-300), u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    /// Fills `n` floats at `p` with N(0, std²).
    public mutating func fillNormal(_ p: UnsafeMutablePointer<Float>, _ n: Int, std: Float = 1) {
        for i in 0..<n { p[i] = normal() * std }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@inlinable func _log(_ x: Double) -> Double { log(x) }
@inlinable func _cos(_ x: Double) -> Double { cos(x) }
