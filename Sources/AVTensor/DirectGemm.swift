import CKernels
import Foundation

/// Pack-free GEMM for tall products with small operands (`CKernels/gemm.c`): register tiles read
/// A straight from its rows (or columns, for Aᵀ) and B by rows, instead of copying both into
/// packed panels on every call as OpenBLAS does. On the fused linears' L2-resident row tiles
/// (K, N ≤ 384) it runs ~10–15 % faster than OpenBLAS's own kernel, on stage 2's shapes (K, N ≤
/// 1536) ~5 % faster, and having no packing it splits into small row chunks for free
/// (docs/performance.md); on the
/// baseline (SSE) path it is slower than OpenBLAS, so `Linear` uses it only where `isPreferred`.
/// Row-major, leading dimensions explicit; the caller threads it (one call per row tile).
public enum DirectGemm {
    /// Whether `Linear` uses these kernels: `enabled`, on the AVX2/AVX-512 paths.
    public static var isPreferred: Bool { enabled && Kernels.active != .baseline }

    /// Off: `Linear` calls OpenBLAS on the same tiles (A/B benchmarks, `bench swin --direct-gemm
    /// both`; `AVTRAIN_DIRECT_GEMM=0` at start-up). Set between steps, not during one.
    nonisolated(unsafe) public static var enabled: Bool = ProcessInfo.processInfo.environment["AVTRAIN_DIRECT_GEMM"] != "0"

    /// `C[m×n] = (accumulate ? C : 0) + bias[n] (when given) + A[m×k] · B[k×n]`.
    @inlinable
    public static func nn(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                          c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>? = nil, accumulate: Bool) {
        avk_gemm_nn(m, n, k, a, lda, b, ldb, c, ldc, bias, accumulate ? 1 : 0)
    }

    /// `C[m×n] = (accumulate ? C : 0) + Aᵀ · B`, A being k×m and B k×n (a weight gradient summed
    /// over k rows).
    @inlinable
    public static func tn(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                          c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        avk_gemm_tn(m, n, k, a, lda, b, ldb, c, ldc, accumulate ? 1 : 0)
    }

    /// `dst[c·rows + r] = src[r·cols + c]`: a weight `[out × in]` as the `[in × out]` B of `nn`
    /// (16×16 blocks, source rows split over the threads).
    @inlinable
    public static func transpose(_ src: UnsafePointer<Float>, rows: Int, cols: Int, into dst: UnsafeMutablePointer<Float>) {
        let box = UncheckedBox((src, dst))
        Threads.parallelFor(rows / 16, minChunk: max(1, 4096 / max(1, cols))) { blocks in
            let hi = blocks.upperBound == rows / 16 ? rows : blocks.upperBound * 16
            avk_transpose(box.value.0, rows, cols, box.value.1, blocks.lowerBound * 16, hi)
        }
    }
}
