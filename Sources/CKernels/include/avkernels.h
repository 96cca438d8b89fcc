// avtrain's hot non-GEMM kernels, compiled once per instruction set (baseline x86-64/SSE2,
// AVX2+FMA, AVX-512) from the same C source and chosen at start-up by what the CPU has
// (AVTRAIN_KERNELS=baseline|avx2|avx512 forces one). Swift code built for baseline x86-64 only
// vectorises to SSE; these run at the machine's real vector width. Thread-safe; no allocation.
#ifndef AVTRAIN_KERNELS_H
#define AVTRAIN_KERNELS_H
#include <stddef.h>

/// Instruction-set paths: 0 baseline, 1 avx2 (+FMA), 2 avx512 (F+DQ).
enum { AVK_BASELINE = 0, AVK_AVX2 = 1, AVK_AVX512 = 2, AVK_PATHS = 3 };

/// Whether this CPU (and this build) can run `path`.
int avk_available(int path);
/// The path in use (the best available, or AVTRAIN_KERNELS when set and available).
int avk_active(void);
/// Uses `path` from now on; returns 0, or -1 when it is not available (nothing changes).
int avk_select(int path);
/// "baseline", "avx2" or "avx512".
const char *avk_name(int path);

/// y[i] = e^x[i] (inputs clamped to ±87.3; ≈ 2 ulp).
void avk_exp(float *y, const float *x, size_t n);
/// out = x · Φ(x) (exact-erf GELU; |error| ≤ 2e-7).
void avk_gelu_forward(float *out, const float *x, size_t n);
/// dinp (+)= dout · (Φ(x) + x · φ(x)); in place (dinp == dout) when not accumulating.
void avk_gelu_backward(float *dinp, const float *x, const float *dout, size_t n, int accumulate);
/// e[i] = exp(x[i] − max x) (may be in place); returns Σ e[i] and writes max x to *max.
float avk_exp_shifted(const float *x, float *e, size_t n, float *max);
/// Σ a[i]·b[i].
float avk_dot(const float *a, const float *b, size_t n);
/// LayerNorm forward of `rows` rows of `dim`: out, and the per-row mean and 1/std.
void avk_layernorm_forward(float *out, float *mean, float *rstd, const float *x, const float *w, const float *b,
                           size_t rows, size_t dim, float eps);
/// LayerNorm backward of `rows` rows: dx (+)= …, dw += Σ g·x̂, db += Σ g.
void avk_layernorm_backward(float *dx, float *dw, float *db, const float *g, const float *x, const float *w,
                            const float *mean, const float *rstd, size_t rows, size_t dim, int accumulate);
/// Power spectra of two real n-point frames a, b from the complex FFT z of a + i·b (n complex
/// values, interleaved): pa[k·stride] = |A[k]|², pb[k·stride] = |B[k]|² for k ≤ n/2 (n even).
void avk_two_real_power(const float *z, float *pa, float *pb, size_t n, size_t stride);
/// Two windowed frames as one complex input: z[2j] = a[j]·w[j], z[2j+1] = b[j]·w[j] (0 when b is
/// NULL), j < n.
void avk_window_pair(float *z, const float *a, const float *b, const float *w, size_t n);
/// Row-wise softmax in place of x + a + b: a, b are [rows × cols] or NULL.
void avk_softmax_rows(float *x, const float *a, const float *b, size_t rows, size_t cols);
/// Softmax backward per row: dinp (+)= y ⊙ (dout − ⟨dout, y⟩); in place (dinp == dout) when not
/// accumulating.
void avk_softmax_backward(float *dinp, const float *y, const float *dout, size_t rows, size_t cols, int accumulate);
/// C[m×n] = (accumulate ? C : 0) + bias[·] (when not NULL) + A[m×k]·B[k×n], row-major with leading
/// dimensions; pack-free register tiles (gemm.c), for tall products whose B fits in L2.
void avk_gemm_nn(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc,
                 const float *bias, int accumulate);
/// C[m×n] = (accumulate ? C : 0) + Aᵀ·B, A k×m (lda), B k×n (ldb): a weight gradient over k rows.
void avk_gemm_tn(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc,
                 int accumulate);
/// dst[c·rows + r] = src[r·cols + c] for the source rows r0..<r1 (16×16 blocks).
void avk_transpose(const float *src, size_t rows, size_t cols, float *dst, size_t r0, size_t r1);
/// A spin-wait hint to the CPU (x86 `pause`, Arm `yield`): for threads polling a flag.
void avk_spin_pause(void);
#endif
