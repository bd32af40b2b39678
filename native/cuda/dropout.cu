// Dropout masks from Philox4x32-10, the same stream as src/Engine/Random/Philox.cs: the 32-bit
// value at stream position pos is output (pos & 3) of the block for counter pos >> 2 under key
// seed, and the uniform is (value >> 8) * 2^-24. So a CUDA mask equals the CPU's for a seed.

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

__device__ __forceinline__ unsigned int philox_at(unsigned long long seed, unsigned long long pos)
{
    unsigned long long block = pos >> 2;
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
    unsigned int lane = (unsigned int)(pos & 3ull);
    return lane == 0u ? c0 : lane == 1u ? c1 : lane == 2u ? c2 : c3;
}

// mask (outer, n, inner) contiguous: element (o, b, j) takes the uniform at stream position
// offset + ((o * total + start + b) * inner + j) (a slice [start, start + n) of a batch of total rows
// on the middle axis; outer = n = total = 1, start = 0 for a whole tensor) and becomes
// u >= p ? scale : 0, scale = 1 / (1 - p).
extern "C" __global__ void dropout_mask_f32(float* mask, unsigned long long seed, unsigned long long offset,
    unsigned long long outer, unsigned long long n, unsigned long long total, unsigned long long start,
    unsigned long long inner, float p, float scale)
{
    unsigned long long count = outer * n * inner, slab = n * inner, stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long e = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; e < count; e += stride)
    {
        unsigned long long o = e / slab, rem = e - o * slab, b = rem / inner, j = rem - b * inner;
        unsigned long long pos = offset + (o * total + start + b) * inner + j;
        float u = (float)(philox_at(seed, pos) >> 8) * (1.f / 16777216.f);
        mask[e] = u >= p ? scale : 0.f;
    }
}
