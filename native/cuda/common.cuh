// Shared by every kernel file: NVRTC gets it as an in-memory header, so `#include "common.cuh"`
// works in any native/cuda/*.cu (no system headers are available under NVRTC).
#pragma once

typedef long long i64;

// Grid-stride loop over n elements: any grid size covers any n (grids are capped on the host).
#define KERNEL_LOOP(i, n) \
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (i64)(n); i += (i64)blockDim.x * gridDim.x)

// Contiguous elementwise map over n floats: y[i] = f(x[i]...) for i in [0, n); y and every x are (n,) contiguous, and y
// may be one of the x (in place: each element is read before it is written, by the same thread). When y and every x
// are 16-byte aligned, a thread takes 4 consecutive floats per grid-stride step, one float4 load per input and one
// float4 store (a quarter of the memory instructions of the scalar loop: what a streaming op needs to approach the
// memory bandwidth), and the n % 4 tail goes one float per step; otherwise (a view at an odd offset: a float4 access
// must be 16-byte aligned) every element goes one float per step. f sees the same floats on both paths, so the result
// is bitwise the same. Launch with about n / 4 threads (CudaLaunch.Float4Grid); any grid covers any n.
template <class F, class... V>
__device__ __forceinline__ float4 map4(F f, V... v)
{
    float4 r;
    r.x = f(v.x...); r.y = f(v.y...); r.z = f(v.z...); r.w = f(v.w...);
    return r;
}

__device__ __forceinline__ bool aligned16(const void* p) { return ((unsigned long long)p & 15) == 0; }

template <class F, class... X>
__device__ __forceinline__ void map_f32(F f, float* y, unsigned long long n, const X*... x)
{
    const unsigned long long first = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
    const unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    unsigned long long scalar_from = 0;   // where the one-float loop starts
    if ((aligned16(y) && ... && aligned16(x)))
    {
        const unsigned long long n4 = n / 4;
        for (unsigned long long i = first; i < n4; i += stride)
            reinterpret_cast<float4*>(y)[i] = map4(f, reinterpret_cast<const float4*>(x)[i]...);
        scalar_from = n4 * 4;
    }
    for (unsigned long long i = scalar_from + first; i < n; i += stride) y[i] = f(x[i]...);
}

// One warp per row: `row` runs over [0, rows) with a warp's 32 lanes on the same row (`lane` = 0..31).
// blockDim.x must be a multiple of 32.
#define WARP_ROWS(row, rows, lane)                                                              \
    unsigned int lane = threadIdx.x & 31u;                                                      \
    unsigned long long _warps = ((unsigned long long)gridDim.x * blockDim.x) >> 5;              \
    for (unsigned long long row = ((unsigned long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5; row < rows; row += _warps)

__device__ __forceinline__ float max_of(float a, float b) { return fmaxf(a, b); }
__device__ __forceinline__ double max_of(double a, double b) { return fmax(a, b); }

// Butterfly sum / max over a full warp (float or double): every lane gets the same, order-fixed result.
template <class T>
__device__ __forceinline__ T warp_sum(T v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

template <class T>
__device__ __forceinline__ T warp_max(T v)
{
    for (int o = 16; o > 0; o >>= 1) v = max_of(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum of one value per thread of a block of THREADS threads (blockDim.x == THREADS, a power of two) by a fixed
// tree in sh (THREADS elements of shared memory): deterministic; every thread gets the result, and sh may be
// reused as soon as it returns.
template <int THREADS, class T>
__device__ __forceinline__ T block_sum(T v, T* sh)
{
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int s = THREADS / 2; s > 0; s >>= 1)
    {
        if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    T r = sh[0];
    __syncthreads();
    return r;
}

// A failed input check (a class label, a target's range, an index) for CudaDevice's deferred checks (the host
// reads the slot at its next synchronisation; src/Engine/Cuda/CudaDevice.Checks.cs). slot: one u64, 0 = passed
// (nullable: no check). It keeps the lowest failing position, with the 32 bits of its value: stored complemented,
// so atomicMax keeps the smallest (position << 32 | bits) whatever order threads arrive in. Positions saturate at
// 2^32 - 2, so a failure never reads as 0.
__device__ __forceinline__ void check_failed(unsigned long long* slot, unsigned long long pos, unsigned int value_bits)
{
    if (!slot) return;
    unsigned long long p = pos < 0xfffffffeull ? pos : 0xfffffffeull;
    atomicMax(slot, ~((p << 32) | (unsigned long long)value_bits));
}

// An integer for check_failed: clamped to the int32 range (the host prints a clamped value as ">= 2147483647").
__device__ __forceinline__ unsigned int check_int_bits(long long v)
{
    return (unsigned int)(int)(v < -2147483647LL - 1 ? -2147483647LL - 1 : v > 2147483647LL ? 2147483647LL : v);
}

// The quiet NaN that marks results computed from input that failed a check.
__device__ __forceinline__ float check_nan() { return __int_as_float(0x7fc00000); }
