// Depthwise convolution, channel multiplier 1 (groups == C_in == C_out), float32, with stride, dilation and
// asymmetric zero padding done in-kernel (no padded copies):
//   x (N, C, H, W), w (C, 1, KH, KW), b (C) or null, y (N, C, OH, OW); 1-d convolutions are H = KH = 1.
//   y[n, c, oy, ox] = b[c] + sum_{ky, kx} w[c, ky, kx] * x[n, c, oy*sh - top + ky*dh, ox*sw - left + kx*dw]
// (x read as 0 outside [0, H) x [0, W)). Why our own kernels: PyTorch sends float32 depthwise convolutions to its own
// kernels, not cuDNN (ConvParams::use_cudnn_depthwise takes cuDNN for FP16 only); which is faster here is not yet
// measured, so CudaOptions.DepthwiseKernels.Auto times both per shape. All deterministic, no atomics: every output
// element is written by one thread (forward, backward data) or by fixed-order sums (backward weight).
// Threads run along W (ox / ix fastest), so neighbouring threads touch neighbouring addresses.
//
// Each kernel is a device template over
//   I  - the index type: int when every tensor has at most DepthwiseConv.Int32Limit elements (the host picks),
//        because 64-bit division and modulo are emulated on NVIDIA GPUs (dozens of instructions each); i64 otherwise;
//   KW - the kernel width when it is 3 (WaveKws's, a compile-time constant so the tap loop unrolls), 0 = runtime kw;
// and DW_VARIANTS makes the four extern "C" entry points NAME_i32, NAME_i64, NAME_i32_k3, NAME_i64_k3 of each.
#include "common.cuh"

// The geometry every kernel takes; `planes` = N * C.
#define DW_GEOMETRY long long planes, int c, int h, int w, int oh, int ow, int kh, int kw, \
                    int sh, int sw, int dh, int dw, int top, int left
#define DW_GEOMETRY_ARGS planes, c, h, w, oh, ow, kh, kw, sh, sw, dh, dw, top, left

#define DW_VARIANTS(NAME, IMPL, PARAMS, ...)                                                         \
    extern "C" __global__ void NAME##_i32(PARAMS) { IMPL<int, 0>(__VA_ARGS__); }                     \
    extern "C" __global__ void NAME##_i64(PARAMS) { IMPL<i64, 0>(__VA_ARGS__); }                     \
    extern "C" __global__ void NAME##_i32_k3(PARAMS) { IMPL<int, 3>(__VA_ARGS__); }                  \
    extern "C" __global__ void NAME##_i64_k3(PARAMS) { IMPL<i64, 3>(__VA_ARGS__); }

// Splits flat index i over rows of length `len` and planes of `rows` rows: i = (p * rows + row) * len + col.
// 1-d convolutions (rows = 1) skip the second division: the row of W is the plane.
template <class I>
__device__ __forceinline__ I dw_split(I i, int len, int rows, int& row, int& col)
{
    I r = i / len;
    col = (int)(i - r * len);
    if (rows == 1) { row = 0; return r; }
    I p = r / rows;
    row = (int)(r - p * rows);
    return p;
}

// Forward: y (N, C, OH, OW) = depthwise(x (N, C, H, W), w (C, 1, KH, KW)) + b (C, nullable). One thread per y element.
template <class I, int KW>
__device__ __forceinline__ void dw_forward(const float* __restrict__ x, const float* __restrict__ wt,
                                           const float* __restrict__ b, float* __restrict__ y, DW_GEOMETRY)
{
    const int kws = KW ? KW : kw;
    const I total = (I)planes * oh * ow;
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (I)blockDim.x * gridDim.x)
    {
        int oy, ox;
        I p = dw_split<I>(i, ow, oh, oy, ox);          // n * C + ch
        int ch = (int)(p % c);
        const float* xp = x + p * h * w;
        const float* wp = wt + ch * kh * kws;
        int iy0 = oy * sh - top, ix0 = ox * sw - left;
        float acc = 0.0f;
        for (int ky = 0; ky < kh; ky++)
        {
            int iy = iy0 + ky * dh;
            if ((unsigned)iy >= (unsigned)h) continue;
            const float* xr = xp + (I)iy * w;
#pragma unroll
            for (int kx = 0; kx < kws; kx++)
            {
                int ix = ix0 + kx * dw;
                if ((unsigned)ix < (unsigned)w) acc += wp[ky * kws + kx] * xr[ix];
            }
        }
        y[i] = b ? acc + b[ch] : acc;
    }
}

#define DW_FORWARD_PARAMS const float* __restrict__ x, const float* __restrict__ wt, const float* __restrict__ b, \
                          float* __restrict__ y, DW_GEOMETRY
DW_VARIANTS(depthwise_forward_f32, dw_forward, DW_FORWARD_PARAMS, x, wt, b, y, DW_GEOMETRY_ARGS)

// The output index o with o * s == t for t >= 0, or -1 when s does not divide t (stride 1, the common case, divides).
__device__ __forceinline__ int dw_exact_div(int t, int s)
{
    if (s == 1) return t;
    int o = (int)((unsigned)t / (unsigned)s);
    return o * s == t ? o : -1;
}

// Backward data: dx (N, C, H, W) from dy (N, C, OH, OW) and w (C, 1, KH, KW). One thread per dx element gathers
// the taps whose window covers it: iy = oy*sh - top + ky*dh  <=>  oy = (iy + top - ky*dh) / sh when divisible.
template <class I, int KW>
__device__ __forceinline__ void dw_backward_data(const float* __restrict__ dy, const float* __restrict__ wt,
                                                 float* __restrict__ dx, DW_GEOMETRY)
{
    const int kws = KW ? KW : kw;
    const I total = (I)planes * h * w;
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (I)blockDim.x * gridDim.x)
    {
        int iy, ix;
        I p = dw_split<I>(i, w, h, iy, ix);
        int ch = (int)(p % c);
        const float* gp = dy + p * oh * ow;
        const float* wp = wt + ch * kh * kws;
        float acc = 0.0f;
        for (int ky = 0; ky < kh; ky++)
        {
            int ty = iy + top - ky * dh;
            int oy = ty < 0 ? -1 : dw_exact_div(ty, sh);
            if (oy < 0 || oy >= oh) continue;
            const float* gr = gp + (I)oy * ow;
#pragma unroll
            for (int kx = 0; kx < kws; kx++)
            {
                int tx = ix + left - kx * dw;
                int ox = tx < 0 ? -1 : dw_exact_div(tx, sw);
                if (ox >= 0 && ox < ow) acc += wp[ky * kws + kx] * gr[ox];
            }
        }
        dx[i] = acc;
    }
}

#define DW_DATA_PARAMS const float* __restrict__ dy, const float* __restrict__ wt, float* __restrict__ dx, DW_GEOMETRY
DW_VARIANTS(depthwise_backward_data_f32, dw_backward_data, DW_DATA_PARAMS, dy, wt, dx, DW_GEOMETRY_ARGS)

#define DW_THREADS 256     // threads of a backward-weight block (DepthwiseConv.BlockThreads)
#define DW_MAX_TAPS 16     // taps one backward-weight block accumulates (in registers) from one read of dy

// Backward weight and bias: dw (C, 1, KH, KW) = sum over n, oy, ox of dy * x at the tap, db (C) = sum of dy; either
// may be null (x may be null when dw is). Blocks: C * groups * splits, s fastest: block (ch, g, s) reads dy of
// channel ch once over positions [s * chunk, (s + 1) * chunk) of its N * OH * OW (ox fastest) and accumulates the
// up to DW_MAX_TAPS taps [g * DW_MAX_TAPS, ...) of group g (groups = ceil(taps / DW_MAX_TAPS), 1 without dw) and,
// in group 0, the bias. Sums: each thread's, then a warp butterfly, then the 8 warps in order: a fixed order.
// splits == 1 writes dw / db; otherwise partial (C, taps + 1, splits) gets the block's sums (bias at slot taps)
// and depthwise_backward_weight_sum_f32 adds the splits in order. Why splits: one block per channel is too few
// blocks to fill a GPU when C is small and N * OH * OW large (C = 32 x 25k positions for WaveKws's first layer).
template <class I, int KW>
__device__ __forceinline__ void dw_backward_weight(const float* __restrict__ x, const float* __restrict__ dy,
                                                   float* __restrict__ dwt, float* __restrict__ db,
                                                   float* __restrict__ partial, int splits, DW_GEOMETRY)
{
    __shared__ float warp_sums[DW_THREADS / 32][DW_MAX_TAPS + 1];
    const int kws = KW ? KW : kw;
    const int taps = dwt ? kh * kws : 0;
    const int groups = taps ? (taps + DW_MAX_TAPS - 1) / DW_MAX_TAPS : 1;
    const int s = blockIdx.x % splits, g = blockIdx.x / splits % groups, ch = blockIdx.x / splits / groups;
    const int t0 = g * DW_MAX_TAPS, count = min(taps - t0, DW_MAX_TAPS);   // count <= 0: bias only
    const bool bias = db && g == 0;
    const I per_plane = (I)oh * ow, positions = (I)(planes / c) * per_plane;
    const I chunk = (positions + splits - 1) / splits, j0 = s * chunk, j1 = min(j0 + chunk, positions);
    const int ky0 = t0 / kws, kx0 = t0 % kws;

    float acc[DW_MAX_TAPS], bacc = 0.0f;
#pragma unroll
    for (int u = 0; u < DW_MAX_TAPS; u++) acc[u] = 0.0f;
    for (I j = j0 + threadIdx.x; j < j1; j += DW_THREADS)
    {
        int oy, ox;
        I p = dw_split<I>(j, ow, oh, oy, ox) * c + ch;   // n * C + ch
        float gv = dy[p * per_plane + (I)oy * ow + ox];
        bacc += gv;
        if (count <= 0) continue;
        const float* xp = x + p * h * w;
        int iy0 = oy * sh - top, ix0 = ox * sw - left, ky = ky0, kx = kx0;
#pragma unroll
        for (int u = 0; u < DW_MAX_TAPS; u++)   // unrolled so acc stays in registers; taps past count skipped
        {
            if (u >= count) break;
            int iy = iy0 + ky * dh, ix = ix0 + kx * dw;
            if ((unsigned)iy < (unsigned)h && (unsigned)ix < (unsigned)w) acc[u] += gv * xp[(I)iy * w + ix];
            if (++kx == kws) { kx = 0; ky++; }
        }
    }

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
    for (int u = 0; u < DW_MAX_TAPS; u++)   // count is uniform per block, so whole warps shuffle
    {
        if (u >= count) break;
        float v = warp_sum(acc[u]);
        if (lane == 0) warp_sums[warp][u] = v;
    }
    if (bias)
    {
        float v = warp_sum(bacc);
        if (lane == 0) warp_sums[warp][DW_MAX_TAPS] = v;
    }
    __syncthreads();
    int outs = max(count, 0) + (bias ? 1 : 0);
    if (threadIdx.x < outs)
    {
        bool is_bias = threadIdx.x >= max(count, 0);
        int u = is_bias ? DW_MAX_TAPS : threadIdx.x;
        float total = 0.0f;
        for (int k = 0; k < DW_THREADS / 32; k++) total += warp_sums[k][u];
        int slot = is_bias ? taps : t0 + u;                      // tap index ky * KW + kx, or taps for the bias
        if (splits > 1) partial[((i64)ch * (taps + 1) + slot) * splits + s] = total;
        else if (is_bias) db[ch] = total;
        else dwt[(i64)ch * taps + slot] = total;
    }
}

#define DW_WEIGHT_PARAMS const float* __restrict__ x, const float* __restrict__ dy, float* __restrict__ dwt, \
                         float* __restrict__ db, float* __restrict__ partial, int splits, DW_GEOMETRY
DW_VARIANTS(depthwise_backward_weight_f32, dw_backward_weight, DW_WEIGHT_PARAMS, x, dy, dwt, db, partial, splits, DW_GEOMETRY_ARGS)

// The second step of a split backward weight: dw (C, taps) and db (C) (either null: its slots are skipped) from
// partial (C, taps + 1, splits), adding the splits in index order. One thread per (channel, slot).
extern "C" __global__ void depthwise_backward_weight_sum_f32(const float* __restrict__ partial, float* __restrict__ dwt,
                                                             float* __restrict__ db, int c, int taps, int splits)
{
    KERNEL_LOOP(i, (i64)c * (taps + 1))
    {
        int slot = (int)(i % (taps + 1));
        i64 ch = i / (taps + 1);
        float* out = slot < taps ? (dwt ? dwt + ch * taps + slot : nullptr) : (db ? db + ch : nullptr);
        if (!out) continue;
        float total = 0.0f;
        for (int k = 0; k < splits; k++) total += partial[i * splits + k];
        *out = total;
    }
}
