// Softmax and log-softmax over the middle axis of a contiguous x viewed as (outer, n, inner)
// (dim d of any tensor: outer = prod of dims before d, inner = prod after), forward and
// backward, as the CPU SoftmaxKernels (src/Kernels/Softmax). Max subtraction for stability.
//   *_rows_*  inner == 1: one warp per row (rows = outer), lanes stride the row, butterfly shuffles
//             (every lane gets the same, order-fixed result). blockDim.x a multiple of 32.
//   *_cols_*  inner > 1: one thread per (o, i) column, j in order; neighbours read neighbours.
// Backward: softmax dx = y (g - sum_j g_j y_j); log-softmax dx = g - exp(y) sum_j g_j (y = forward output).
#include "common.cuh"

template <bool LOG>
__device__ void softmax_rows(const float* x, float* y, unsigned long long rows, unsigned long long n)
{
    WARP_ROWS(row, rows, lane)
    {
        const float* src = x + row * n;
        float* dst = y + row * n;
        float m = __int_as_float(0xff800000); // -inf
        for (unsigned long long j = lane; j < n; j += 32) m = fmaxf(m, src[j]);
        m = warp_max(m);
        float s = 0.f;
        for (unsigned long long j = lane; j < n; j += 32) s += expf(src[j] - m);
        s = warp_sum(s);
        if (LOG) { float lse = m + logf(s); for (unsigned long long j = lane; j < n; j += 32) dst[j] = src[j] - lse; }
        else { float inv = 1.f / s; for (unsigned long long j = lane; j < n; j += 32) dst[j] = expf(src[j] - m) * inv; }
    }
}

template <bool LOG>
__device__ void softmax_cols(const float* x, float* y, unsigned long long outer, unsigned long long n, unsigned long long inner)
{
    unsigned long long total = outer * inner, stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long t = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += stride)
    {
        unsigned long long o = t / inner, i = t - o * inner;
        const float* src = x + o * n * inner + i;
        float* dst = y + o * n * inner + i;
        float m = __int_as_float(0xff800000); // -inf
        for (unsigned long long j = 0; j < n; j++) m = fmaxf(m, src[j * inner]);
        float s = 0.f;
        for (unsigned long long j = 0; j < n; j++) s += expf(src[j * inner] - m);
        if (LOG) { float lse = m + logf(s); for (unsigned long long j = 0; j < n; j++) dst[j * inner] = src[j * inner] - lse; }
        else { float inv = 1.f / s; for (unsigned long long j = 0; j < n; j++) dst[j * inner] = expf(src[j * inner] - m) * inv; }
    }
}

template <bool LOG>
__device__ void softmax_backward_rows(const float* y, const float* g, float* dx, unsigned long long rows, unsigned long long n)
{
    WARP_ROWS(row, rows, lane)
    {
        const float* yr = y + row * n;
        const float* gr = g + row * n;
        float* dr = dx + row * n;
        float s = 0.f;
        for (unsigned long long j = lane; j < n; j += 32) s += LOG ? gr[j] : gr[j] * yr[j];
        s = warp_sum(s);
        for (unsigned long long j = lane; j < n; j += 32) dr[j] = LOG ? gr[j] - expf(yr[j]) * s : yr[j] * (gr[j] - s);
    }
}

template <bool LOG>
__device__ void softmax_backward_cols(const float* y, const float* g, float* dx, unsigned long long outer, unsigned long long n, unsigned long long inner)
{
    unsigned long long total = outer * inner, stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long t = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += stride)
    {
        unsigned long long o = t / inner, i = t - o * inner, base = o * n * inner + i;
        float s = 0.f;
        for (unsigned long long j = 0; j < n; j++) s += LOG ? g[base + j * inner] : g[base + j * inner] * y[base + j * inner];
        for (unsigned long long j = 0; j < n; j++)
        {
            unsigned long long k = base + j * inner;
            dx[k] = LOG ? g[k] - expf(y[k]) * s : y[k] * (g[k] - s);
        }
    }
}

#define SOFTMAX_FAMILY(NAME, LOG)                                                                                   \
extern "C" __global__ void NAME##_rows_f32(const float* x, float* y, unsigned long long rows, unsigned long long n) \
{ softmax_rows<LOG>(x, y, rows, n); }                                                                               \
extern "C" __global__ void NAME##_cols_f32(const float* x, float* y, unsigned long long outer, unsigned long long n, unsigned long long inner) \
{ softmax_cols<LOG>(x, y, outer, n, inner); }                                                                       \
extern "C" __global__ void NAME##_backward_rows_f32(const float* y, const float* g, float* dx, unsigned long long rows, unsigned long long n) \
{ softmax_backward_rows<LOG>(y, g, dx, rows, n); }                                                                  \
extern "C" __global__ void NAME##_backward_cols_f32(const float* y, const float* g, float* dx, unsigned long long outer, unsigned long long n, unsigned long long inner) \
{ softmax_backward_cols<LOG>(y, g, dx, outer, n, inner); }

SOFTMAX_FAMILY(softmax, false)
SOFTMAX_FAMILY(log_softmax, true)
