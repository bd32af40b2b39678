// Reductions over one axis of a contiguous tensor viewed as (outer, r, inner), as the CPU's
// Ops.SumAxis / MaxWithIndex (src/Engine/Ops/Reductions.cs); several axes are reduced one at a
// time by the host. Deterministic: every output has one fixed summation order (no float atomics).
// Sum and SumTo (broadcast backward) both come here.
#include "common.cuh"

#define SUM_ROWS_THREADS 256

// inner == 1: x (rows, r) -> y (rows,). One block per row (grid-stride over rows), each thread
// sums a strided part of the row, then a fixed tree in shared memory. blockDim.x must be 256.
extern "C" __global__ void sum_rows_f32(const float* x, float* y, unsigned long long rows, unsigned long long r)
{
    __shared__ float buf[SUM_ROWS_THREADS];
    for (unsigned long long row = blockIdx.x; row < rows; row += gridDim.x)
    {
        const float* src = x + row * r;
        float acc = 0.f;
        for (unsigned long long k = threadIdx.x; k < r; k += SUM_ROWS_THREADS) acc += src[k];
        float total = block_sum<SUM_ROWS_THREADS>(acc, buf);
        if (threadIdx.x == 0) y[row] = total;
    }
}

// inner > 1: x (outer, r, inner) -> y (outer, inner). One thread per output, k in order;
// neighbouring threads read neighbouring columns (coalesced).
extern "C" __global__ void sum_cols_f32(const float* x, float* y, unsigned long long outer, unsigned long long r, unsigned long long inner)
{
    unsigned long long n = outer * inner, stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long t = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; t < n; t += stride)
    {
        unsigned long long o = t / inner, i = t - o * inner;
        const float* src = x + o * r * inner + i;
        float acc = 0.f;
        for (unsigned long long k = 0; k < r; k++) acc += src[k * inner];
        y[t] = acc;
    }
}

// Long columns (few outputs, long r: bias gradients summed over B*T rows): x (outer, r, inner) ->
// partial (outer, chunks, inner), each thread summing k in [c * chunk, min(r, (c + 1) * chunk)) in
// order; sum_cols_f32 then adds the chunks in order. The host fixes chunk from the shape, so the
// order, and the result, is the same run to run.
extern "C" __global__ void sum_cols_chunked_f32(const float* x, float* partial, unsigned long long outer, unsigned long long r,
    unsigned long long inner, unsigned long long chunk, unsigned long long chunks)
{
    unsigned long long n = outer * chunks * inner, stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long t = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; t < n; t += stride)
    {
        unsigned long long i = t % inner, oc = t / inner, c = oc % chunks, o = oc / chunks;
        unsigned long long k0 = c * chunk, k1 = k0 + chunk < r ? k0 + chunk : r;
        const float* src = x + o * r * inner + i;
        float acc = 0.f;
        for (unsigned long long k = k0; k < k1; k++) acc += src[k * inner];
        partial[t] = acc;
    }
}

// Max over the middle axis: x (outer, r, inner) -> values, indices (outer, inner). The first maximal
// element wins; NaN counts as the maximum (the CPU rule). r >= 1.
extern "C" __global__ void max_axis_f32(const float* x, float* values, long long* indices, unsigned long long outer, unsigned long long r, unsigned long long inner)
{
    unsigned long long n = outer * inner, stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long t = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; t < n; t += stride)
    {
        unsigned long long o = t / inner, i = t - o * inner;
        const float* src = x + o * r * inner + i;
        float m = src[0];
        long long at = 0;
        for (unsigned long long k = 1; k < r; k++)
        {
            float v = src[k * inner];
            if (v > m || (v != v && m == m)) { m = v; at = (long long)k; }
        }
        values[t] = m;
        indices[t] = at;
    }
}

// Max over long rows (inner == 1): x (rows, r) -> values, indices (rows,). One block per row (grid-stride over
// rows); each thread scans a strided part keeping its first maximum, then a fixed tree keeps the better pair:
// NaN beats any number, a larger value beats a smaller one, and on equal values (or two NaNs) the smaller
// index wins, so the result is the CPU's sequential "first maximal element". blockDim.x must be 256.
__device__ __forceinline__ bool max_better(float v, long long i, float m, long long at)
{
    bool vn = v != v, mn = m != m;
    if (vn != mn) return vn;
    if (!vn && v != m) return v > m;
    return i < at;
}

extern "C" __global__ void max_rows_f32(const float* x, float* values, long long* indices, unsigned long long rows, unsigned long long r)
{
    __shared__ float bv[SUM_ROWS_THREADS];
    __shared__ long long bi[SUM_ROWS_THREADS];
    for (unsigned long long row = blockIdx.x; row < rows; row += gridDim.x)
    {
        const float* src = x + row * r;
        float m = src[0];
        long long at = 0;
        for (unsigned long long k = threadIdx.x; k < r; k += SUM_ROWS_THREADS)
            if (max_better(src[k], (long long)k, m, at)) { m = src[k]; at = (long long)k; }
        bv[threadIdx.x] = m;
        bi[threadIdx.x] = at;
        __syncthreads();
        for (int s = SUM_ROWS_THREADS / 2; s > 0; s >>= 1)
        {
            if (threadIdx.x < s && max_better(bv[threadIdx.x + s], bi[threadIdx.x + s], bv[threadIdx.x], bi[threadIdx.x]))
            {
                bv[threadIdx.x] = bv[threadIdx.x + s];
                bi[threadIdx.x] = bi[threadIdx.x + s];
            }
            __syncthreads();
        }
        if (threadIdx.x == 0) { values[row] = bv[0]; indices[row] = bi[0]; }
        __syncthreads();
    }
}

// Backward of max: dx (outer, r, inner), zeroed by the host, gets g (outer, inner) at the saved
// indices. Each output owns one dx element, so no two threads write the same place.
extern "C" __global__ void max_axis_backward_f32(const float* g, const long long* indices, float* dx, unsigned long long outer, unsigned long long r, unsigned long long inner)
{
    unsigned long long n = outer * inner, stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long t = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; t < n; t += stride)
    {
        unsigned long long o = t / inner, i = t - o * inner;
        dx[(o * r + (unsigned long long)indices[t]) * inner + i] += g[t];
    }
}
