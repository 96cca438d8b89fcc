import CKernels

/// The instruction-set path of the hot non-GEMM kernels (GELU, exp/softmax, LayerNorm, dot,
/// the STFT's frame pairs) and of `DirectGemm` (C target `CKernels`, one source compiled per
/// path). Start-up picks the best this CPU runs; `AVTRAIN_KERNELS=baseline|avx2|avx512` or `Kernels.select` forces one.
public enum KernelPath: Int32, CaseIterable, Sendable, CustomStringConvertible {
    /// Baseline x86-64 (SSE2), or the plain build on other CPUs.
    case baseline = 0
    /// AVX2 + FMA (256-bit).
    case avx2 = 1
    /// AVX-512 F/DQ/VL (512-bit).
    case avx512 = 2

    public var description: String { String(cString: avk_name(rawValue)) }
}

/// Which kernel path runs, and switching it (tests compare paths; benchmarks print it).
public enum Kernels {
    /// The path in use.
    public static var active: KernelPath { KernelPath(rawValue: avk_active()) ?? .baseline }

    /// Whether this CPU can run `path`.
    public static func isAvailable(_ path: KernelPath) -> Bool { avk_available(path.rawValue) != 0 }

    /// The paths this CPU can run, baseline first.
    public static var available: [KernelPath] { KernelPath.allCases.filter(isAvailable) }

    /// Uses `path` from now on; false (nothing changes) when this CPU cannot run it.
    @discardableResult
    public static func select(_ path: KernelPath) -> Bool { avk_select(path.rawValue) == 0 }

    /// Runs `body` on `path`, then restores the previous one.
    public static func with<R>(_ path: KernelPath, _ body: () throws -> R) rethrows -> R? {
        let saved = active
        guard select(path) else { return nil }
        defer { select(saved) }
        return try body()
    }
}
