// Per-plane and per-channel reductions next to cuDNN: global average pooling over each (n, c) plane, and
// eval-mode batch norm backward (cuDNN has none). One block per plane/channel; the block reduces in a fixed
// order (per-thread strided partial sums, then a shared-memory tree), so results are deterministic.
// Launch with 256 threads per block.
#include "common.cuh"

#define POOL_THREADS 256

// x (planes, size) -> y (planes): y[p] = mean of x[p, :]. grid = planes.
extern "C" __global__ void global_avg_pool_forward_f32(const float* __restrict__ x, float* __restrict__ y, int size)
{
    __shared__ float sh[POOL_THREADS];
    const float* row = x + (long long)blockIdx.x * size;
    float acc = 0.0f;
    for (int i = threadIdx.x; i < size; i += POOL_THREADS) acc += row[i];
    float s = block_sum<POOL_THREADS>(acc, sh);
    if (threadIdx.x == 0) y[blockIdx.x] = s / (float)size;
}

// g (planes) -> dx (planes, size): dx[p, i] = g[p] / size.
extern "C" __global__ void global_avg_pool_backward_f32(const float* __restrict__ g, float* __restrict__ dx, long long planes, int size)
{
    long long total = planes * size;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x)
        dx[i] = g[i / size] / (float)size;
}

// Eval-mode batch norm backward (statistics are constants): x, dy, dx (n, c, spatial); grid = c.
//   dx = dy * gamma_c * invstd_c,  dgamma_c = sum dy * (x - mean_c) * invstd_c,  dbeta_c = sum dy
// invstd_c = rsqrt(var_c + eps); gamma may be null (1).
extern "C" __global__ void batch_norm_eval_backward_f32(const float* __restrict__ x, const float* __restrict__ dy, float* __restrict__ dx,
    int n, int c, int spatial, const float* __restrict__ gamma, const float* __restrict__ mean, const float* __restrict__ var, float eps,
    float* __restrict__ dgamma, float* __restrict__ dbeta)
{
    __shared__ float sh[POOL_THREADS];
    int ch = blockIdx.x;
    float invstd = 1.0f / sqrtf(var[ch] + eps);
    float k = (gamma == 0 ? 1.0f : gamma[ch]) * invstd, m = mean[ch];
    float sg = 0.0f, sb = 0.0f;
    long long count = (long long)n * spatial;
    for (long long i = threadIdx.x; i < count; i += POOL_THREADS)
    {
        long long o = ((i / spatial) * c + ch) * spatial + i % spatial;
        float d = dy[o];
        sb += d;
        sg += d * (x[o] - m) * invstd;
        dx[o] = d * k;
    }
    float tg = block_sum<POOL_THREADS>(sg, sh);
    float tb = block_sum<POOL_THREADS>(sb, sh);
    if (threadIdx.x == 0) { dgamma[ch] = tg; dbeta[ch] = tb; }
}
