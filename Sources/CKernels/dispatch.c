// Picks the kernel set for this CPU once, at load time; `avk_select` switches (tests, benchmarks).
#include "avkernels.h"
#include "kernels_impl.h"
#include <stdlib.h>
#include <string.h>

static const char *const names[AVK_PATHS] = {"baseline", "avx2", "avx512"};
static const avk_impl *active_impl = &avk_impl_baseline;
static const avk_gemm_impl *active_gemm = &avk_gemm_baseline;
static int active_path = AVK_BASELINE;

int avk_available(int path) {
    switch (path) {
    case AVK_BASELINE: return 1;
#if defined(__x86_64__)
    case AVK_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case AVK_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
               avk_available(AVK_AVX2);
#endif
    default: return 0;
    }
}

int avk_select(int path) {
    if (path < 0 || path >= AVK_PATHS || !avk_available(path)) return -1;
#if defined(__x86_64__)
    static const avk_impl *const impls[AVK_PATHS] = {&avk_impl_baseline, &avk_impl_avx2, &avk_impl_avx512};
    static const avk_gemm_impl *const gemms[AVK_PATHS] = {&avk_gemm_baseline, &avk_gemm_avx2, &avk_gemm_avx512};
    active_impl = impls[path];
    active_gemm = gemms[path];
#else
    active_impl = &avk_impl_baseline;
    active_gemm = &avk_gemm_baseline;
#endif
    active_path = path;
    return 0;
}

int avk_active(void) { return active_path; }

const char *avk_name(int path) { return path >= 0 && path < AVK_PATHS ? names[path] : "unknown"; }

__attribute__((constructor)) static void avk_choose(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
#endif
    const char *forced = getenv("AVTRAIN_KERNELS");
    if (forced)
        for (int p = 0; p < AVK_PATHS; p++)
            if (strcmp(forced, names[p]) == 0 && avk_select(p) == 0) return;
    for (int p = AVK_PATHS - 1; p >= 0; p--)
        if (avk_select(p) == 0) return;
}

void avk_exp(float *y, const float *x, size_t n) { active_impl->exp(y, x, n); }
void avk_gelu_forward(float *out, const float *x, size_t n) { active_impl->gelu_forward(out, x, n); }
void avk_gelu_backward(float *dinp, const float *x, const float *dout, size_t n, int accumulate) {
    active_impl->gelu_backward(dinp, x, dout, n, accumulate);
}
float avk_exp_shifted(const float *x, float *e, size_t n, float *max) { return active_impl->exp_shifted(x, e, n, max); }
float avk_dot(const float *a, const float *b, size_t n) { return active_impl->dot(a, b, n); }
void avk_layernorm_forward(float *out, float *mean, float *rstd, const float *x, const float *w, const float *b, size_t rows,
                           size_t dim, float eps) {
    active_impl->layernorm_forward(out, mean, rstd, x, w, b, rows, dim, eps);
}
void avk_layernorm_backward(float *dx, float *dw, float *db, const float *g, const float *x, const float *w, const float *mean,
                            const float *rstd, size_t rows, size_t dim, int accumulate) {
    active_impl->layernorm_backward(dx, dw, db, g, x, w, mean, rstd, rows, dim, accumulate);
}
void avk_two_real_power(const float *z, float *pa, float *pb, size_t n, size_t stride) {
    active_impl->two_real_power(z, pa, pb, n, stride);
}
void avk_window_pair(float *z, const float *a, const float *b, const float *w, size_t n) { active_impl->window_pair(z, a, b, w, n); }
void avk_softmax_rows(float *x, const float *a, const float *b, size_t rows, size_t cols) {
    active_impl->softmax_rows(x, a, b, rows, cols);
}
void avk_softmax_backward(float *dinp, const float *y, const float *dout, size_t rows, size_t cols, int accumulate) {
    active_impl->softmax_backward(dinp, y, dout, rows, cols, accumulate);
}
void avk_gemm_nn(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc,
                 const float *bias, int accumulate) {
    if (m && n) active_gemm->nn(m, n, k, a, lda, b, ldb, c, ldc, bias, accumulate);
}
void avk_gemm_tn(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc,
                 int accumulate) {
    if (m && n) active_gemm->tn(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

void avk_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}
