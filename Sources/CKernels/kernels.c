// One C source for every kernel; each is instantiated three times (baseline, AVX2+FMA, AVX-512)
// through target attributes, and dispatch.c picks one set at start-up. Bodies are plain loops
// that clang vectorises at the width of the instantiation; FP reassociation is allowed only
// inside these bodies (sums in any order, fused multiply-adds), so paths agree to float rounding.
#include "avkernels.h"
#include "kernels_impl.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#define BODY_PRAGMAS _Pragma("clang fp reassociate(on) contract(fast)")

static inline __attribute__((always_inline)) float exp_body(float x) {
    x = x < -87.3f ? -87.3f : x;
    x = x > 87.3f ? 87.3f : x;
    float k = __builtin_rintf(x * 1.44269504088896341f);
    float r = x - k * 0.693359375f + k * 2.12194440e-4f;   // Cody–Waite: ln 2 in two parts
    float p = 1.9875691500e-4f;                             // Cephes expf polynomial (~2 ulp)
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t bits = ((int32_t)k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

/// Normal CDF Φ(x) (erf by Abramowitz–Stegun 7.1.26, |error| ≤ 1.5e-7) and e^{−x²/2}.
static inline __attribute__((always_inline)) float phi_body(float x, float *gauss) {
    float z = x * 0.70710678118654752f, az = fabsf(z);
    float t = 1.0f / (1.0f + 0.3275911f * az);
    float poly = 1.061405429f;
    poly = poly * t - 1.453152027f;
    poly = poly * t + 1.421413741f;
    poly = poly * t - 0.284496736f;
    poly = poly * t + 0.254829592f;
    poly = poly * t;
    float g = exp_body(-(az * az));
    float e = 1.0f - poly * g;
    *gauss = g;
    return 0.5f * (1.0f + (z < 0 ? -e : e));
}

static inline __attribute__((always_inline)) void exp_array_body(float *y, const float *x, size_t n) {
    BODY_PRAGMAS
    for (size_t i = 0; i < n; i++) y[i] = exp_body(x[i]);
}

static inline __attribute__((always_inline)) void gelu_forward_body(float *out, const float *x, size_t n) {
    BODY_PRAGMAS
    for (size_t i = 0; i < n; i++) { float g; out[i] = x[i] * phi_body(x[i], &g); }
}

// Outputs go through a block on the stack, so the vectorised loops never alias their inputs:
// `dinp` may be `dout` (in place) and `e` may be `x`.
enum { BLOCK = 256 };

static inline __attribute__((always_inline)) void gelu_backward_body(float *dinp, const float *x, const float *dout, size_t n, int acc) {
    BODY_PRAGMAS
    const float inv_sqrt_2pi = 0.39894228040143268f;
    float t[BLOCK];
    for (size_t lo = 0; lo < n; lo += BLOCK) {
        size_t m = n - lo < BLOCK ? n - lo : BLOCK;
        for (size_t i = 0; i < m; i++) { float g, c = phi_body(x[lo + i], &g); t[i] = dout[lo + i] * (c + x[lo + i] * g * inv_sqrt_2pi); }
        if (acc) {
            for (size_t i = 0; i < m; i++) dinp[lo + i] += t[i];
        } else {
            for (size_t i = 0; i < m; i++) dinp[lo + i] = t[i];
        }
    }
}

// max x[i] in 16 independent lanes: a single running max is a chain of dependent compares that
// the vectoriser leaves scalar (it may not reorder a max without fast-math's no-NaN).
static inline __attribute__((always_inline)) float max_body(const float *x, size_t n) {
    float lanes[16], m = -INFINITY;
    for (size_t l = 0; l < 16; l++) lanes[l] = -INFINITY;
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (size_t l = 0; l < 16; l++) lanes[l] = x[i + l] > lanes[l] ? x[i + l] : lanes[l];
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    for (size_t l = 0; l < 16; l++) m = lanes[l] > m ? lanes[l] : m;
    return m;
}

static inline __attribute__((always_inline)) float exp_shifted_body(const float *x, float *e, size_t n, float *max) {
    BODY_PRAGMAS
    float m = max_body(x, n);
    float s = 0, t[BLOCK];
    for (size_t lo = 0; lo < n; lo += BLOCK) {
        size_t c = n - lo < BLOCK ? n - lo : BLOCK;
        for (size_t i = 0; i < c; i++) { t[i] = exp_body(x[lo + i] - m); s += t[i]; }
        for (size_t i = 0; i < c; i++) e[lo + i] = t[i];
    }
    *max = m;
    return s;
}

// Row-wise softmax in place of x + a + b, a and b [rows × cols] or NULL (attention scores plus the
// relative-position bias and the shift mask). Rows go in groups of 8, a pass per step (add and
// max, exp and sum, scale), so the rows' reduction chains overlap instead of running one after
// another; rows of 64 (window attention's 8×8 windows) get a copy with the width constant.
static inline __attribute__((always_inline)) void softmax_group(float *x, const float *a, const float *b, size_t rows,
                                                                size_t cols) {
    BODY_PRAGMAS
    float m[8], inv[8];
    for (size_t r = 0; r < rows; r++) {
        float *xr = x + r * cols;
        if (a && b) {
            for (size_t i = 0; i < cols; i++) xr[i] += a[r * cols + i] + b[r * cols + i];
        } else if (a || b) {
            const float *c = a ? a : b;
            for (size_t i = 0; i < cols; i++) xr[i] += c[r * cols + i];
        }
        m[r] = max_body(xr, cols);
    }
    for (size_t r = 0; r < rows; r++) {
        float *xr = x + r * cols, sum = 0;
        for (size_t i = 0; i < cols; i++) { xr[i] = exp_body(xr[i] - m[r]); sum += xr[i]; }
        inv[r] = 1.0f / sum;
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < cols; i++) x[r * cols + i] *= inv[r];
}

static inline __attribute__((always_inline)) void softmax_rows_body(float *x, const float *a, const float *b, size_t rows,
                                                                    size_t cols) {
    for (size_t r = 0; r < rows; r += 8) {
        size_t g = rows - r < 8 ? rows - r : 8;
        const float *ar = a ? a + r * cols : NULL, *br = b ? b + r * cols : NULL;
        if (cols == 64 && g == 8) softmax_group(x + r * 64, ar, br, 8, 64);
        else softmax_group(x + r * cols, ar, br, g, cols);
    }
}

static inline __attribute__((always_inline)) float dot_body(const float *a, const float *b, size_t n) {
    BODY_PRAGMAS
    float s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

// Softmax backward per row: dinp (+)= y ⊙ (dout − ⟨dout, y⟩); in place (dinp == dout) when not
// accumulating (through the stack block, like GELU's backward). Rows go in groups of 8, the
// dot products first, so their reduction chains overlap.
static inline __attribute__((always_inline)) void softmax_backward_group(float *dinp, const float *y, const float *dout,
                                                                         size_t rows, size_t cols, int acc) {
    BODY_PRAGMAS
    float dots[8], t[BLOCK];
    for (size_t r = 0; r < rows; r++) dots[r] = dot_body(dout + r * cols, y + r * cols, cols);
    for (size_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *gr = dout + r * cols;
        float *d = dinp + r * cols;
        for (size_t lo = 0; lo < cols; lo += BLOCK) {
            size_t m = cols - lo < BLOCK ? cols - lo : BLOCK;
            for (size_t i = 0; i < m; i++) t[i] = yr[lo + i] * (gr[lo + i] - dots[r]);
            if (acc) {
                for (size_t i = 0; i < m; i++) d[lo + i] += t[i];
            } else {
                for (size_t i = 0; i < m; i++) d[lo + i] = t[i];
            }
        }
    }
}

static inline __attribute__((always_inline)) void softmax_backward_body(float *dinp, const float *y, const float *dout, size_t rows,
                                                                        size_t cols, int acc) {
    for (size_t r = 0; r < rows; r += 8) {
        size_t g = rows - r < 8 ? rows - r : 8, o = r * cols;
        if (cols == 64 && g == 8) softmax_backward_group(dinp + o, y + o, dout + o, 8, 64, acc);
        else softmax_backward_group(dinp + o, y + o, dout + o, g, cols, acc);
    }
}

static inline __attribute__((always_inline)) void layernorm_forward_body(float *out, float *mean, float *rstd, const float *x,
                                                                         const float *w, const float *b, size_t rows, size_t dim, float eps) {
    BODY_PRAGMAS
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *y = out + r * dim;
        float sum = 0;
        for (size_t i = 0; i < dim; i++) sum += xr[i];
        float m = sum / (float)dim, v = 0;
        for (size_t i = 0; i < dim; i++) { float d = xr[i] - m; v += d * d; }
        float s = 1.0f / sqrtf(v / (float)dim + eps);
        for (size_t i = 0; i < dim; i++) y[i] = (xr[i] - m) * s * w[i] + b[i];
        mean[r] = m;
        rstd[r] = s;
    }
}

static inline __attribute__((always_inline)) void layernorm_backward_body(float *dx, float *dw, float *db, const float *g, const float *x,
                                                                          const float *w, const float *mean, const float *rstd,
                                                                          size_t rows, size_t dim, int acc) {
    BODY_PRAGMAS
    for (size_t r = 0; r < rows; r++) {
        const float *gr = g + r * dim, *xr = x + r * dim;
        float *d = dx + r * dim;
        float m = mean[r], s = rstd[r], sg = 0, sgx = 0;
        for (size_t i = 0; i < dim; i++) {
            float xh = (xr[i] - m) * s, gw = gr[i] * w[i];
            sg += gw;
            sgx += gw * xh;
            db[i] += gr[i];
            dw[i] += gr[i] * xh;
        }
        float mg = sg / (float)dim, mgx = sgx / (float)dim;
        if (acc) {
            for (size_t i = 0; i < dim; i++) d[i] += (gr[i] * w[i] - mg - (xr[i] - m) * s * mgx) * s;
        } else {
            for (size_t i = 0; i < dim; i++) d[i] = (gr[i] * w[i] - mg - (xr[i] - m) * s * mgx) * s;
        }
    }
}

// Two real frames a, b packed as one complex FFT z = FFT(a + i·b) of n points: for k ≤ n/2,
// A[k] = (z[k] + conj z[n−k]) / 2 and B[k] = (z[k] − conj z[n−k]) / 2i; writes |A|², |B|² at
// pa[k·stride], pb[k·stride].
static inline __attribute__((always_inline)) void two_real_power_span(const float *z, float *pa, float *pb, size_t n,
                                                                      size_t k0, size_t k1) {
    BODY_PRAGMAS
    for (size_t k = k0; k < k1; k++) {
        float zr = z[2 * k], zi = z[2 * k + 1], wr = z[2 * (n - k)], wi = z[2 * (n - k) + 1];
        float ar = zr + wr, ai = zi - wi, br = zi + wi, bi = wr - zr;
        pa[k - k0] = 0.25f * (ar * ar + ai * ai);
        pb[k - k0] = 0.25f * (br * br + bi * bi);
    }
}

static inline __attribute__((always_inline)) void two_real_power_body(const float *z, float *pa, float *pb, size_t n,
                                                                      size_t stride) {
    pa[0] = z[0] * z[0];
    pb[0] = z[1] * z[1];
    if (stride == 1) {
        two_real_power_span(z, pa + 1, pb + 1, n, 1, n / 2 + 1);
        return;
    }
    // Strided destination: vectorised spans into a stack block, then plain stores (vector
    // scatters are slower than scalar stores on the CPUs measured).
    float ta[256], tb[256];
    for (size_t k0 = 1; k0 <= n / 2; k0 += 256) {
        size_t k1 = k0 + 256 < n / 2 + 1 ? k0 + 256 : n / 2 + 1;
        two_real_power_span(z, ta, tb, n, k0, k1);
#pragma clang loop vectorize(disable)
        for (size_t k = k0; k < k1; k++) { pa[k * stride] = ta[k - k0]; pb[k * stride] = tb[k - k0]; }
    }
}

// z[2j] = a[j]·w[j], z[2j+1] = b[j]·w[j] (0 when b is NULL), j < n.
static inline __attribute__((always_inline)) void window_pair_body(float *z, const float *a, const float *b, const float *w,
                                                                   size_t n) {
    BODY_PRAGMAS
    if (b) {
        for (size_t j = 0; j < n; j++) { z[2 * j] = a[j] * w[j]; z[2 * j + 1] = b[j] * w[j]; }
    } else {
        for (size_t j = 0; j < n; j++) { z[2 * j] = a[j] * w[j]; z[2 * j + 1] = 0.0f; }
    }
}

// One set of entry points per path.
#define AVK_INSTANTIATE(SUFFIX, ATTR)                                                                                         \
    ATTR static void exp_##SUFFIX(float *y, const float *x, size_t n) { exp_array_body(y, x, n); }                             \
    ATTR static void gelu_forward_##SUFFIX(float *o, const float *x, size_t n) { gelu_forward_body(o, x, n); }                 \
    ATTR static void gelu_backward_##SUFFIX(float *d, const float *x, const float *g, size_t n, int a) {                      \
        gelu_backward_body(d, x, g, n, a);                                                                                     \
    }                                                                                                                          \
    ATTR static float exp_shifted_##SUFFIX(const float *x, float *e, size_t n, float *m) { return exp_shifted_body(x, e, n, m); } \
    ATTR static float dot_##SUFFIX(const float *a, const float *b, size_t n) { return dot_body(a, b, n); }                     \
    ATTR static void layernorm_forward_##SUFFIX(float *o, float *m, float *s, const float *x, const float *w, const float *b,  \
                                                size_t r, size_t d, float e) { layernorm_forward_body(o, m, s, x, w, b, r, d, e); } \
    ATTR static void layernorm_backward_##SUFFIX(float *dx, float *dw, float *db, const float *g, const float *x, const float *w, \
                                                 const float *m, const float *s, size_t r, size_t d, int a) {                  \
        layernorm_backward_body(dx, dw, db, g, x, w, m, s, r, d, a);                                                           \
    }                                                                                                                          \
    ATTR static void two_real_power_##SUFFIX(const float *z, float *pa, float *pb, size_t n, size_t st) {                       \
        two_real_power_body(z, pa, pb, n, st);                                                                                 \
    }                                                                                                                          \
    ATTR static void window_pair_##SUFFIX(float *z, const float *a, const float *b, const float *w, size_t n) {                \
        window_pair_body(z, a, b, w, n);                                                                                       \
    }                                                                                                                          \
    ATTR static void softmax_rows_##SUFFIX(float *x, const float *a, const float *b, size_t r, size_t c) {                     \
        softmax_rows_body(x, a, b, r, c);                                                                                      \
    }                                                                                                                          \
    ATTR static void softmax_backward_##SUFFIX(float *d, const float *y, const float *g, size_t r, size_t c, int a) {          \
        softmax_backward_body(d, y, g, r, c, a);                                                                               \
    }                                                                                                                          \
    const avk_impl avk_impl_##SUFFIX = {exp_##SUFFIX, gelu_forward_##SUFFIX, gelu_backward_##SUFFIX, exp_shifted_##SUFFIX, dot_##SUFFIX,     \
                                        layernorm_forward_##SUFFIX, layernorm_backward_##SUFFIX, two_real_power_##SUFFIX,   \
                                        window_pair_##SUFFIX, softmax_rows_##SUFFIX, softmax_backward_##SUFFIX};

AVK_INSTANTIATE(baseline, )
#if defined(__x86_64__)
AVK_INSTANTIATE(avx2, __attribute__((target("avx2,fma"))))
AVK_INSTANTIATE(avx512, __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"))))
#endif
