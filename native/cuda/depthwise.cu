// Depthwise convolution, channel multiplier 1 (groups == C_in == C_out), float32, with stride, dilation and
// asymmetric zero padding done in-kernel (no padded copies):
//   x (N, C, H, W), w (C, 1, KH, KW), b (C) or null, y (N, C, OH, OW); 1-d convolutions are H = KH = 1.
//   y[n, c, oy, ox] = b[c] + sum_{ky, kx} w[c, ky, kx] * x[n, c, oy*sh - top + ky*dh, ox*sw - left + kx*dw]
// (x read as 0 outside [0, H) x [0, W)). Why our own kernels: cuDNN's grouped float32 depthwise convolution is
// slow, so PyTorch runs its own depthwise kernels for float32 too. All deterministic, no atomics: every output
// element is written by one thread (forward, backward data) or one block's fixed-order tree (backward weight).
// Threads run along W (ox / ix fastest), so neighbouring threads touch neighbouring addresses.
#include "common.cuh"

// The geometry every kernel takes; `planes` = N * C.
#define DW_GEOMETRY long long planes, int c, int h, int w, int oh, int ow, int kh, int kw, \
                    int sh, int sw, int dh, int dw, int top, int left

// Forward: y (N, C, OH, OW) = depthwise(x (N, C, H, W), w (C, 1, KH, KW)) + b (C, nullable). One thread per y element.
extern "C" __global__ void depthwise_forward_f32(const float* __restrict__ x, const float* __restrict__ wt,
                                                 const float* __restrict__ b, float* __restrict__ y, DW_GEOMETRY)
{
    KERNEL_LOOP(i, planes * oh * ow)
    {
        int ox = (int)(i % ow);
        i64 r = i / ow;
        int oy = (int)(r % oh);
        i64 p = r / oh;                       // n * C + ch
        int ch = (int)(p % c);
        const float* xp = x + p * h * w;
        const float* wp = wt + (i64)ch * kh * kw;
        float acc = 0.0f;
        for (int ky = 0; ky < kh; ky++)
        {
            int iy = oy * sh - top + ky * dh;
            if (iy < 0 || iy >= h) continue;
            for (int kx = 0; kx < kw; kx++)
            {
                int ix = ox * sw - left + kx * dw;
                if (ix >= 0 && ix < w) acc += wp[ky * kw + kx] * xp[(i64)iy * w + ix];
            }
        }
        y[i] = b ? acc + b[ch] : acc;
    }
}

// Backward data: dx (N, C, H, W) from dy (N, C, OH, OW) and w (C, 1, KH, KW). One thread per dx element gathers
// the taps whose window covers it: iy = oy*sh - top + ky*dh  <=>  oy = (iy + top - ky*dh) / sh when divisible.
extern "C" __global__ void depthwise_backward_data_f32(const float* __restrict__ dy, const float* __restrict__ wt,
                                                       float* __restrict__ dx, DW_GEOMETRY)
{
    KERNEL_LOOP(i, planes * h * w)
    {
        int ix = (int)(i % w);
        i64 r = i / w;
        int iy = (int)(r % h);
        i64 p = r / h;
        int ch = (int)(p % c);
        const float* gp = dy + p * oh * ow;
        const float* wp = wt + (i64)ch * kh * kw;
        float acc = 0.0f;
        for (int ky = 0; ky < kh; ky++)
        {
            int ty = iy + top - ky * dh;
            if (ty < 0 || ty % sh != 0 || ty / sh >= oh) continue;
            int oy = ty / sh;
            for (int kx = 0; kx < kw; kx++)
            {
                int tx = ix + left - kx * dw;
                if (tx < 0 || tx % sw != 0 || tx / sw >= ow) continue;
                acc += wp[ky * kw + kx] * gp[(i64)oy * ow + tx / sw];
            }
        }
        dx[i] = acc;
    }
}

#define DW_THREADS 256

// Backward weight and bias: dw (C, 1, KH, KW) = sum over n, oy, ox of dy * x at the tap, db (C) = sum of dy; either
// may be null. One block (DW_THREADS threads) per (channel, task), task = a tap of dw (when dw is set) or db (the
// last task, when db is set); blocks grid-stride over the C * tasks pairs. Each thread strides over the N * OH * OW
// positions of its channel (ox fastest), then block_sum adds the partial sums in a fixed tree: deterministic.
extern "C" __global__ void depthwise_backward_weight_f32(const float* __restrict__ x, const float* __restrict__ dy,
                                                         float* __restrict__ dwt, float* __restrict__ db, DW_GEOMETRY)
{
    __shared__ float sh_sum[DW_THREADS];
    int taps = dwt ? kh * kw : 0;
    int tasks = taps + (db ? 1 : 0);
    i64 n = planes / c, per_plane = (i64)oh * ow, positions = n * per_plane;
    for (i64 blk = blockIdx.x; blk < (i64)c * tasks; blk += gridDim.x)   // uniform per block: block_sum is safe
    {
        int ch = (int)(blk / tasks), task = (int)(blk % tasks);
        int ky = task / kw, kx = task % kw;
        bool bias = task == taps;
        float acc = 0.0f;
        for (i64 j = threadIdx.x; j < positions; j += DW_THREADS)
        {
            int ox = (int)(j % ow);
            i64 r = j / ow;
            int oy = (int)(r % oh);
            i64 p = (r / oh) * c + ch;
            float g = dy[p * per_plane + (i64)oy * ow + ox];
            if (bias) { acc += g; continue; }
            int iy = oy * sh - top + ky * dh, ix = ox * sw - left + kx * dw;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) acc += g * x[(p * h + iy) * w + ix];
        }
        float total = block_sum<DW_THREADS>(acc, sh_sum);
        if (threadIdx.x == 0)
        {
            if (bias) db[ch] = total;
            else dwt[((i64)ch * kh + ky) * kw + kx] = total;
        }
    }
}
