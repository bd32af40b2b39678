// Fills: Tensor.Full / Ones on a CUDA device. Zeros use cuMemsetD8Async instead.
#include "common.cuh"

// y (n,) = value
extern "C" __global__ void fill_f32(float* y, float value, long long n)
{
    KERNEL_LOOP(i, n) y[i] = value;
}

// y (n,) += value, int64 (BatchNorm's num_batches_tracked counter on the GPU: no host round trip).
extern "C" __global__ void add_scalar_i64(long long* y, long long value, long long n)
{
    KERNEL_LOOP(i, n) y[i] += value;
}
