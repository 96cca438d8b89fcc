// Pack-free GEMM for tall products with small operands (the linears of swin-t's stages 0–2, in
// row tiles or row chunks): a register tile of R rows × 2 vectors of C accumulates
// Σ_k a(j,k)·B[k, ·], broadcasting a(j,k) straight from A (its rows, or its columns for Aᵀ) and
// loading B by rows, so nothing is copied into packed panels per call (OpenBLAS re-packs both
// operands on every call, ~10 % of a 96-wide product); the first column tile of each row block
// prefetches the next block's rows of A. Instantiated per instruction set like kernels.c; tile
// shapes fill each set's registers: AVX-512 12×32 (24 of 32 zmm accumulate), AVX2+FMA 6×16 and
// SSE 6×8 (12 of 16).
#include "avkernels.h"
#include "kernels_impl.h"
#include <string.h>

typedef float avk_v16 __attribute__((vector_size(64), aligned(4)));
typedef float avk_v8 __attribute__((vector_size(32), aligned(4)));
typedef float avk_v4 __attribute__((vector_size(16), aligned(4)));

// B panels (k × columns) of at most this many floats per pass over A's rows (stays in L2).
#define AVK_PANEL_FLOATS 65536
// Rows of the reduction per pass of Aᵀ·B (a chunk of A and B stays in L1/L2; C is re-read per chunk).
#define AVK_TN_CHUNK 128

// One tile: C[rows × cols] = init + Σ_{k<K} a(j,k)·B[k, c], a(j,k) = A[j·sa + k·sk], rows ≤ R,
// cols ≤ 2W; init is C itself (acc), plus bias[c] when given; pf (may be NULL): R rows of stride
// pfs to prefetch, a line per row every 16 k. Called with rows = R and cols = 2W as constants on
// full tiles (always inlined: the guards fold away) and with variables on edges.
#define AVK_GEMM_TILE(NAME, ATTR, VT, W, R)                                                                                       \
    ATTR static inline __attribute__((always_inline)) VT NAME##_load(const float *p, size_t n) {                                  \
        VT v = {0};                                                                                                          \
        if (n >= W) memcpy(&v, p, sizeof(VT));                                                                               \
        else if (n > 0) memcpy(&v, p, n * sizeof(float));                                                                    \
        return v;                                                                                                            \
    }                                                                                                                        \
    ATTR static inline __attribute__((always_inline)) void NAME##_store(float *p, VT v, size_t n) {                              \
        if (n >= W) memcpy(p, &v, sizeof(VT));                                                                               \
        else if (n > 0) memcpy(p, &v, n * sizeof(float));                                                                    \
    }                                                                                                                        \
    ATTR static inline __attribute__((always_inline)) void NAME(size_t rows, size_t cols, size_t K, const float *A, size_t sa,    \
                                                           size_t sk, const float *B, size_t ldb, float *C, size_t ldc,      \
                                                           const float *bias, int acc, const float *pf, size_t pfs) {       \
        _Pragma("clang fp contract(fast)")                                                                                   \
        size_t hi = cols > W ? cols - W : 0;                                                                                 \
        VT b0 = {0}, b1 = {0};                                                                                               \
        if (bias) { b0 = NAME##_load(bias, cols); b1 = NAME##_load(bias + W, hi); }                                          \
        VT c0[R], c1[R];                                                                                                     \
        _Pragma("clang loop unroll(full)") for (size_t j = 0; j < R; j++) {                                                  \
            c0[j] = b0; c1[j] = b1;                                                                                          \
            if (acc && j < rows) {                                                                                           \
                c0[j] += NAME##_load(C + j * ldc, cols);                                                                     \
                c1[j] += NAME##_load(C + j * ldc + W, hi);                                                                   \
            }                                                                                                                \
        }                                                                                                                    \
        for (size_t k = 0; k < K; k++) {                                                                                     \
            VT x0 = NAME##_load(B + k * ldb, cols), x1 = NAME##_load(B + k * ldb + W, hi);                                   \
            const float *a = A + k * sk;                                                                                     \
            if (pf && (k & 15) == 0)                                                                                         \
                _Pragma("clang loop unroll(full)") for (size_t j = 0; j < R; j++) __builtin_prefetch(pf + j * pfs + k, 0, 3); \
            _Pragma("clang loop unroll(full)") for (size_t j = 0; j < R; j++) {                                              \
                if (j < rows) {                                                                                              \
                    float s = a[j * sa];                                                                                     \
                    c0[j] += s * x0;                                                                                         \
                    c1[j] += s * x1;                                                                                         \
                }                                                                                                            \
            }                                                                                                                \
        }                                                                                                                    \
        _Pragma("clang loop unroll(full)") for (size_t j = 0; j < R; j++) {                                                  \
            if (j < rows) { NAME##_store(C + j * ldc, c0[j], cols); NAME##_store(C + j * ldc + W, c1[j], hi); }              \
        }                                                                                                                    \
    }

// The drivers. nn: C[m×n] = (acc ? C : 0) + bias + A[m×k]·B[k×n]; B in column panels that stay in
// L2, A's rows in blocks of R. tn: C[m×n] (+)= Aᵀ·B with A k×m, B k×n; the k rows in chunks.
#define AVK_GEMM_DRIVERS(SUFFIX, ATTR, TILE, W, R)                                                                          \
    ATTR static void gemm_nn_##SUFFIX(size_t m, size_t n, size_t k, const float *A, size_t lda, const float *B, size_t ldb, \
                                      float *C, size_t ldc, const float *bias, int acc) {                                    \
        size_t panel = AVK_PANEL_FLOATS / (k ? k : 1) / (2 * W) * (2 * W);                                                   \
        if (panel < 2 * W) panel = 2 * W;                                                                                    \
        for (size_t n0 = 0; n0 < n; n0 += panel) {                                                                           \
            size_t n1 = n - n0 < panel ? n : n0 + panel;                                                                     \
            for (size_t i = 0; i < m; i += R)                                                                                \
                for (size_t j = n0; j < n1; j += 2 * W) {                                                                    \
                    const float *a = A + i * lda, *b = B + j, *bs = bias ? bias + j : NULL;                                  \
                    const float *pf = j == n0 && m - i >= 2 * R ? a + R * lda : NULL; /* the next rows, once */           \
                    float *c = C + i * ldc + j;                                                                              \
                    if (m - i >= R && n1 - j >= 2 * W) TILE(R, 2 * W, k, a, lda, 1, b, ldb, c, ldc, bs, acc, pf, lda);      \
                    else TILE(m - i < R ? m - i : R, n1 - j < 2 * W ? n1 - j : 2 * W, k, a, lda, 1, b, ldb, c, ldc, bs, acc, \
                              NULL, 0);                                                                                      \
                }                                                                                                            \
        }                                                                                                                    \
    }                                                                                                                        \
    ATTR static void gemm_tn_##SUFFIX(size_t m, size_t n, size_t k, const float *A, size_t lda, const float *B, size_t ldb, \
                                      float *C, size_t ldc, int acc) {                                                       \
        size_t k0 = 0;                                                                                                       \
        do {                                                                                                                 \
            size_t kc = k - k0 < AVK_TN_CHUNK ? k - k0 : AVK_TN_CHUNK;                                                       \
            int into = acc || k0 > 0;                                                                                        \
            for (size_t i = 0; i < m; i += R)                                                                                \
                for (size_t j = 0; j < n; j += 2 * W) {                                                                      \
                    const float *a = A + k0 * lda + i, *b = B + k0 * ldb + j;                                                \
                    float *c = C + i * ldc + j;                                                                              \
                    if (m - i >= R && n - j >= 2 * W) TILE(R, 2 * W, kc, a, 1, lda, b, ldb, c, ldc, NULL, into, NULL, 0);   \
                    else TILE(m - i < R ? m - i : R, n - j < 2 * W ? n - j : 2 * W, kc, a, 1, lda, b, ldb, c, ldc, NULL, into, \
                              NULL, 0);                                                                                      \
                }                                                                                                            \
            k0 += kc;                                                                                                        \
        } while (k0 < k);                                                                                                    \
    }                                                                                                                        \
    const avk_gemm_impl avk_gemm_##SUFFIX = {gemm_nn_##SUFFIX, gemm_tn_##SUFFIX};

AVK_GEMM_TILE(tile_sse, , avk_v4, 4, 6)
AVK_GEMM_DRIVERS(baseline, , tile_sse, 4, 6)
#if defined(__x86_64__)
#define AVX2_ATTR __attribute__((target("avx2,fma")))
#define AVX512_ATTR __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))
AVK_GEMM_TILE(tile_avx2, AVX2_ATTR, avk_v8, 8, 6)
AVK_GEMM_DRIVERS(avx2, AVX2_ATTR, tile_avx2, 8, 6)
AVK_GEMM_TILE(tile_avx512, AVX512_ATTR, avk_v16, 16, 12)
AVK_GEMM_DRIVERS(avx512, AVX512_ATTR, tile_avx512, 16, 12)
#endif

// dst[c·rows + r] = src[r·cols + c] for r in r0..<r1: 16×16 blocks, so reads and writes both run
// along cache lines (a weight [out × in] as the [in × out] B of avk_gemm_nn).
void avk_transpose(const float *src, size_t rows, size_t cols, float *dst, size_t r0, size_t r1) {
    for (size_t rb = r0; rb < r1; rb += 16) {
        size_t re = rb + 16 < r1 ? rb + 16 : r1;
        for (size_t cb = 0; cb < cols; cb += 16) {
            size_t ce = cb + 16 < cols ? cb + 16 : cols;
            for (size_t c = cb; c < ce; c++)
                for (size_t r = rb; r < re; r++) dst[c * rows + r] = src[r * cols + c];
        }
    }
}
