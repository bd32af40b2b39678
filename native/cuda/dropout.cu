// Dropout y = x * mask with the mask drawn on the fly from Philox4x32-10, the same stream as
// src/Engine/Random/Philox.cs: the 32-bit value at stream position pos is output (pos & 3) of the
// block for counter pos >> 2 under key seed, the uniform is (value >> 8) * 2^-24, and the mask value
// is u >= p ? scale : 0 (scale = 1 / (1 - p)). So a CUDA dropout equals the CPU's for a seed. No mask
// is stored: the backward calls the same kernel on the gradient with the forward's seed and offset
// (dx = g * mask, regenerated), as PyTorch's fused dropout keeps only the generator state.

#include "common.cuh"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

// The four outputs of one Philox block: stream positions 4 * block + 0..3.
struct philox4 { unsigned int v[4]; };

__device__ __forceinline__ philox4 philox_block(unsigned long long seed, unsigned long long block)
{
    unsigned int c0 = (unsigned int)block, c1 = (unsigned int)(block >> 32), c2 = 0u, c3 = 0u;
    unsigned int k0 = (unsigned int)seed, k1 = (unsigned int)(seed >> 32);
    for (int r = 0; r < 10; r++)
    {
        unsigned int hi0 = __umulhi(PHILOX_M0, c0), lo0 = PHILOX_M0 * c0;
        unsigned int hi1 = __umulhi(PHILOX_M1, c2), lo1 = PHILOX_M1 * c2;
        unsigned int n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
        k0 += PHILOX_W0; k1 += PHILOX_W1;
    }
    philox4 r;
    r.v[0] = c0; r.v[1] = c1; r.v[2] = c2; r.v[3] = c3;
    return r;
}

// The mask value of one 32-bit stream value.
__device__ __forceinline__ float dropout_keep(unsigned int bits, float p, float scale)
{
    float u = (float)(bits >> 8) * (1.f / 16777216.f);
    return u >= p ? scale : 0.f;
}

// x, y (count,) contiguous: y[e] = x[e] * mask(stream position offset + e).
// Work item k is the Philox block b = (offset >> 2) + k, whose outputs 0..3 are positions 4b..4b+3, i.e. elements
// e = 4b - offset + lane (lane 0..3), those in [0, count): one Philox call per 4 elements (a per-element call
// computes the whole block and keeps one output). The first and last blocks are partial when offset or
// offset + count is not a multiple of 4. float4 when the block's 4 elements are in range and x + e, y + e are
// 16-byte aligned (a view at an odd element offset, or offset % 4 != 0, takes the scalar path).
extern "C" __global__ void dropout_f32(const float* x, float* y, unsigned long long seed, unsigned long long offset,
    unsigned long long count, float p, float scale)
{
    if (count == 0) return;
    unsigned long long first = offset >> 2, blocks = ((offset + count - 1) >> 2) - first + 1;
    unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long k = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; k < blocks; k += stride)
    {
        unsigned long long b = first + k;
        philox4 r = philox_block(seed, b);
        // Element of lane 0; wraps (unsigned) below 0 in the first block, and e0 + lane wraps back for the lanes in range.
        unsigned long long e0 = 4ull * b - offset;
        if (count >= 4 && e0 <= count - 4 && aligned16(x + e0) && aligned16(y + e0))
        {
            float4 v = *(const float4*)(x + e0);
            v.x *= dropout_keep(r.v[0], p, scale);
            v.y *= dropout_keep(r.v[1], p, scale);
            v.z *= dropout_keep(r.v[2], p, scale);
            v.w *= dropout_keep(r.v[3], p, scale);
            *(float4*)(y + e0) = v;
        }
        else
        {
            for (int lane = 0; lane < 4; lane++)
            {
                unsigned long long e = e0 + (unsigned long long)lane;
                if (e < count) y[e] = x[e] * dropout_keep(r.v[lane], p, scale);
            }
        }
    }
}

// x, y (outer, n, inner) contiguous, a slice [start, start + n) of a batch of total rows on the middle axis:
// y[o, b, j] = x[o, b, j] * mask(stream position offset + (o * total + start + b) * inner + j). One Philox call
// per element (rows need not start on a block boundary); data-parallel replicas only, so kept simple.
extern "C" __global__ void dropout_slice_f32(const float* x, float* y, unsigned long long seed, unsigned long long offset,
    unsigned long long outer, unsigned long long n, unsigned long long total, unsigned long long start,
    unsigned long long inner, float p, float scale)
{
    unsigned long long count = outer * n * inner, slab = n * inner, stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long e = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; e < count; e += stride)
    {
        unsigned long long o = e / slab, rem = e - o * slab, b = rem / inner, j = rem - b * inner;
        unsigned long long pos = offset + (o * total + start + b) * inner + j;
        y[e] = x[e] * dropout_keep(philox_block(seed, pos >> 2).v[pos & 3ull], p, scale);
    }
}
