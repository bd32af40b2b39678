// Fills: Tensor.Full / Ones on a CUDA device. Zeros use cuMemsetD8Async instead.
#include "common.cuh"

// y (n,) = value
extern "C" __global__ void fill_f32(float* y, float value, long long n)
{
    KERNEL_LOOP(i, n) y[i] = value;
}
