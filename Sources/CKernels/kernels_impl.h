// The table of one instruction-set path's kernels (internal to CKernels).
#ifndef AVTRAIN_KERNELS_IMPL_H
#define AVTRAIN_KERNELS_IMPL_H
#include <stddef.h>

typedef struct {
    void (*exp)(float *, const float *, size_t);
    void (*gelu_forward)(float *, const float *, size_t);
    void (*gelu_backward)(float *, const float *, const float *, size_t, int);
    float (*exp_shifted)(const float *, float *, size_t, float *);
    float (*dot)(const float *, const float *, size_t);
    void (*layernorm_forward)(float *, float *, float *, const float *, const float *, const float *, size_t, size_t, float);
    void (*layernorm_backward)(float *, float *, float *, const float *, const float *, const float *, const float *, const float *,
                               size_t, size_t, int);
    void (*two_real_power)(const float *, float *, float *, size_t, size_t);
    void (*window_pair)(float *, const float *, const float *, const float *, size_t);
    void (*softmax_rows)(float *, const float *, const float *, size_t, size_t);
    void (*softmax_backward)(float *, const float *, const float *, size_t, size_t, int);
} avk_impl;

typedef struct {
    void (*nn)(size_t, size_t, size_t, const float *, size_t, const float *, size_t, float *, size_t, const float *, int);
    void (*tn)(size_t, size_t, size_t, const float *, size_t, const float *, size_t, float *, size_t, int);
} avk_gemm_impl;

extern const avk_impl avk_impl_baseline;
extern const avk_gemm_impl avk_gemm_baseline;
#if defined(__x86_64__)
extern const avk_impl avk_impl_avx2, avk_impl_avx512;
extern const avk_gemm_impl avk_gemm_avx2, avk_gemm_avx512;
#endif
#endif
