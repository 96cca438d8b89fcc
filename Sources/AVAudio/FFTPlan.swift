import CFFTW
import Foundation

/// One FFTW single-precision plan per (size, direction), made once and executed on new arrays
/// (thread-safe; the arrays must be aligned as the planning arrays were: `FFTBuffer`). FFTW's planner is not thread-safe: every plan in this module is made under one
/// lock, here.
///
/// Planned with FFTW_ESTIMATE: FFTW_MEASURE picks its algorithm by timing, so two processes (two
/// runs, two ranks, a resumed run) could pick different ones, round differently and train to
/// different bytes. ESTIMATE's choice is fixed; it costs 10–30 % per transform against MEASURE on
/// the machines measured (512-point real frame: 0.58 vs 0.44 µs; docs/performance.md).
final class FFTPlan: @unchecked Sendable {
    enum Direction: Sendable { case realToComplex, complexToReal, complexForward }
    let plan: fftwf_plan
    private init(_ plan: fftwf_plan) { self.plan = plan }

    private struct Key: Hashable { let n: Int, direction: Direction }
    private static let lock = NSLock()
    nonisolated(unsafe) private static var plans: [Key: FFTPlan] = [:]

    /// The plan of an `n`-point real transform (n/2 + 1 complex bins; the inverse is unnormalised
    /// and may overwrite its input) or of an `n`-point complex forward transform (n complex values
    /// in and out). Nil when FFTW cannot allocate or plan it.
    static func shared(_ n: Int, _ direction: Direction) -> FFTPlan? {
        lock.lock(); defer { lock.unlock() }
        let key = Key(n: n, direction: direction)
        if let p = plans[key] { return p }
        guard n > 0, n <= Int(Int32.max) else { return nil }
        let real = fftwf_alloc_real(n), cplx = fftwf_alloc_complex(n / 2 + 1)
        let cin = fftwf_alloc_complex(n), cout = fftwf_alloc_complex(n)
        defer { fftwf_free(real); fftwf_free(cplx); fftwf_free(cin); fftwf_free(cout) }
        var made: fftwf_plan?
        if let real, let cplx, let cin, let cout {
            switch direction {
            case .realToComplex: made = fftwf_plan_dft_r2c_1d(Int32(n), real, cplx, FFTW_ESTIMATE)
            case .complexToReal: made = fftwf_plan_dft_c2r_1d(Int32(n), cplx, real, FFTW_ESTIMATE)
            case .complexForward: made = fftwf_plan_dft_1d(Int32(n), cin, cout, FFTW_FORWARD, FFTW_ESTIMATE)
            }
        }
        guard let made else { return nil }
        let p = FFTPlan(made)
        plans[key] = p
        return p
    }
}

/// Float storage for executing an `FFTPlan` on new arrays: 64-byte aligned, the most FFTW's SIMD
/// codelets ask of `fftwf_alloc_*`'s planning arrays, so both have the same alignment. Traps only
/// when memory runs out, as an Array would.
struct FFTBuffer {
    let floats: UnsafeMutablePointer<Float>

    init(floats count: Int) {
        floats = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(1, count))
    }

    /// The same storage as interleaved complex values.
    var complex: UnsafeMutablePointer<fftwf_complex> { UnsafeMutableRawPointer(floats).assumingMemoryBound(to: fftwf_complex.self) }

    func deallocate() { floats.deallocate() }
}
