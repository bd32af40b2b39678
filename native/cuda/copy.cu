// Strided copies on the device: Contiguous()/Clone()/CopyTo between layouts of the same shape.
// The host merges dimensions that are contiguous for both sides first (StridedPlan), so most
// copies reach here with rank 1-3; at most 8 dimensions remain.
#include "common.cuh"

#define COPY_MAX_DIMS 8

// Passed by value. Layout must match Cochlea.Cuda.StridedLayout: rank, padding, then three
// arrays of 8 64-bit values (shape, source strides, destination strides, in elements).
struct StridedLayout
{
    int rank;
    int pad;
    i64 shape[COPY_MAX_DIMS];
    i64 src[COPY_MAX_DIMS];
    i64 dst[COPY_MAX_DIMS];
};

// y[sum k_d * dst_d] = x[sum k_d * src_d] for every index (k_0..k_{rank-1}) of shape; n = prod(shape).
template <typename T>
__device__ void copy_strided(const T* __restrict__ x, T* __restrict__ y, const StridedLayout& L, i64 n)
{
    KERNEL_LOOP(i, n)
    {
        i64 r = i, so = 0, dof = 0;
        for (int d = L.rank - 1; d >= 0; --d)
        {
            i64 k = r % L.shape[d];
            r /= L.shape[d];
            so += k * L.src[d];
            dof += k * L.dst[d];
        }
        y[dof] = x[so];
    }
}

// 4-byte elements (float32, int32), copied as bits.
extern "C" __global__ void copy_strided_b32(const unsigned int* x, unsigned int* y, StridedLayout layout, long long n)
{
    copy_strided(x, y, layout, n);
}

// 8-byte elements (int64), copied as bits.
extern "C" __global__ void copy_strided_b64(const unsigned long long* x, unsigned long long* y, StridedLayout layout, long long n)
{
    copy_strided(x, y, layout, n);
}
