// Fused optimizer updates (src/Engine/Optim/Sgd.cs, Adam.cs, RmsProp.cs) and gradient-norm clipping
// (GradClip.cs: sums of squares, the norm and the scaling, all on the device). p, g and the state slots are contiguous (n,).
// The CPU update uses only lane-wise IEEE operations without fused multiply-add; the explicit
// __f*_rn intrinsics stop the compiler contracting a*b+c into an FMA, so each step gives the CPU's
// bits exactly. Constants are computed by the host exactly as the CPU computes them.
#include "common.cuh"

#define MUL(a, b) __fmul_rn(a, b)
#define ADD(a, b) __fadd_rn(a, b)
#define SUB(a, b) __fsub_rn(a, b)
#define DIV(a, b) __fdiv_rn(a, b)

#define FOR_EACH(i, n) \
    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x, _s = (unsigned long long)gridDim.x * blockDim.x; i < (n); i += _s)

// SGD: gj = g + wd p; b = fresh ? gj : mu b + keep gj; d = nesterov ? gj + mu b : b (d = gj without momentum); p += neg_lr d.
// b may be null when has_momentum == 0.
extern "C" __global__ void sgd_f32(float* p, const float* g, float* b, unsigned long long n, float neg_lr, float wd, float mu,
    float keep, int has_momentum, int nesterov, int fresh)
{
    FOR_EACH(i, n)
    {
        float pv = p[i];
        float gj = ADD(g[i], MUL(wd, pv));
        float d = gj;
        if (has_momentum)
        {
            float bv = fresh ? gj : ADD(MUL(mu, b[i]), MUL(keep, gj));
            b[i] = bv;
            d = nesterov ? ADD(gj, MUL(mu, bv)) : bv;
        }
        p[i] = ADD(pv, MUL(neg_lr, d));
    }
}

// Adam / AdamW, element i: pj = p shrink; gj = g + l2 pj; m = b1 m + ob1 gj; v = b2 v + ob2 gj gj;
// vmax = max(vmax, v) (amsgrad); p = pj - step_size (m / (sqrt(v or vmax) / bc2_sqrt + eps)).
// The one copy of the arithmetic: adam_f32 and adam_multi_f32 both call it, so their bits agree.
__device__ __forceinline__ void adam_element(float* p, const float* g, float* m, float* v, float* vmax, unsigned long long i,
    float step_size, float bc2_sqrt, float b1, float b2, float ob1, float ob2, float eps, float l2, float shrink, int amsgrad)
{
    float pj = MUL(p[i], shrink);
    float gj = ADD(g[i], MUL(l2, pj));
    float mv = ADD(MUL(b1, m[i]), MUL(ob1, gj));
    float vv = ADD(MUL(b2, v[i]), MUL(MUL(ob2, gj), gj));
    m[i] = mv;
    v[i] = vv;
    if (amsgrad) { vv = fmaxf(vmax[i], vv); vmax[i] = vv; }
    p[i] = SUB(pj, MUL(step_size, DIV(mv, ADD(DIV(__fsqrt_rn(vv), bc2_sqrt), eps))));
}

// One parameter: p, g, m, v, vmax (n,). vmax may be null without amsgrad.
extern "C" __global__ void adam_f32(float* p, const float* g, float* m, float* v, float* vmax, unsigned long long n,
    float step_size, float bc2_sqrt, float b1, float b2, float ob1, float ob2, float eps, float l2, float shrink, int amsgrad)
{
    FOR_EACH(i, n) adam_element(p, g, m, v, vmax, i, step_size, bc2_sqrt, b1, b2, ob1, ob2, eps, l2, shrink, amsgrad);
}

// Up to ADAM_MULTI_MAX parameters in one launch (PyTorch's multi-tensor apply): one launch per step instead of one per
// parameter. Passed by value (1920 bytes, well under the 4 KiB parameter limit); matches CudaAdamChunk in
// src/Engine/Cuda/Ops/CudaOptim.cs. Tensor t owns blocks [block_end[t-1], block_end[t]) of the 1-D grid (block_end[-1]
// = 0, gridDim.x = block_end[count-1]) and grid-strides over its n[t] elements with them; step_size and bc2_sqrt are
// per tensor because each parameter counts its own steps. vmax[t] may be null without amsgrad.
#define ADAM_MULTI_MAX 32

// The tensor of a multi-tensor launch that owns this block, and the first block of its range: tensor t owns blocks
// [block_end[t-1], block_end[t]) (block_end[-1] = 0). Linear search: at most 32 compares per block, against one launch
// per tensor saved.
__device__ __forceinline__ int multi_tensor_of(const unsigned int* block_end, unsigned int* first)
{
    int t = 0;
    while (blockIdx.x >= block_end[t]) t++;
    *first = t > 0 ? block_end[t - 1] : 0u;
    return t;
}

struct AdamChunk
{
    float* p[ADAM_MULTI_MAX];
    const float* g[ADAM_MULTI_MAX];
    float* m[ADAM_MULTI_MAX];
    float* v[ADAM_MULTI_MAX];
    float* vmax[ADAM_MULTI_MAX];
    unsigned long long n[ADAM_MULTI_MAX];
    float step_size[ADAM_MULTI_MAX];
    float bc2_sqrt[ADAM_MULTI_MAX];
    unsigned int block_end[ADAM_MULTI_MAX];
};
static_assert(sizeof(AdamChunk) == 1920, "AdamChunk must match CudaAdamChunk in CudaOptim.cs");

extern "C" __global__ void adam_multi_f32(AdamChunk c, float b1, float b2, float ob1, float ob2, float eps, float l2, float shrink, int amsgrad)
{
    unsigned int first;
    int t = multi_tensor_of(c.block_end, &first);
    unsigned long long n = c.n[t], stride = (unsigned long long)(c.block_end[t] - first) * blockDim.x;
    float *p = c.p[t], *m = c.m[t], *v = c.v[t], *vmax = c.vmax[t];
    const float* g = c.g[t];
    float step_size = c.step_size[t], bc2_sqrt = c.bc2_sqrt[t];
    for (unsigned long long i = (unsigned long long)(blockIdx.x - first) * blockDim.x + threadIdx.x; i < n; i += stride)
        adam_element(p, g, m, v, vmax, i, step_size, bc2_sqrt, b1, b2, ob1, ob2, eps, l2, shrink, amsgrad);
}

// RMSprop, PyTorch form (tf_style = 0) or TensorFlow 1 form (tf_style = 1), as RmsProp.cs documents.
// s = square_avg; b = momentum buffer (null unless momentum > 0 or tf_style); a = grad_avg (null unless centered).
extern "C" __global__ void rmsprop_f32(float* p, const float* g, float* s, float* b, float* a, unsigned long long n,
    float lr, float neg_lr, float alpha, float one_minus_alpha, float eps, float wd, float mu,
    int has_momentum, int centered, int tf_style)
{
    FOR_EACH(i, n)
    {
        float pv = p[i];
        float gj = ADD(g[i], MUL(wd, pv));
        float sv = s[i];
        if (tf_style)
        {
            sv = ADD(sv, MUL(SUB(MUL(gj, gj), sv), one_minus_alpha));
            float denom = ADD(sv, eps);
            if (centered)
            {
                float av = ADD(a[i], MUL(SUB(gj, a[i]), one_minus_alpha));
                a[i] = av;
                denom = ADD(SUB(sv, MUL(av, av)), eps);
            }
            float bv = ADD(MUL(mu, b[i]), DIV(MUL(lr, gj), __fsqrt_rn(denom)));
            b[i] = bv;
            s[i] = sv;
            p[i] = SUB(pv, bv);
            continue;
        }
        sv = ADD(MUL(alpha, sv), MUL(MUL(one_minus_alpha, gj), gj));
        s[i] = sv;
        float d;
        if (centered)
        {
            float av = ADD(MUL(alpha, a[i]), MUL(one_minus_alpha, gj));
            a[i] = av;
            d = ADD(__fsqrt_rn(SUB(sv, MUL(av, av))), eps);
        }
        else d = ADD(__fsqrt_rn(sv), eps);
        if (has_momentum)
        {
            float bv = ADD(MUL(mu, b[i]), DIV(gj, d));
            b[i] = bv;
            p[i] = ADD(pv, MUL(neg_lr, bv));
        }
        else p[i] = ADD(pv, MUL(neg_lr, DIV(gj, d)));
    }
}

#define SUMSQ_THREADS 256

// Block `block` of `blocks` over g (n,): the sum of g[i]^2 (in double; float squares are exact in double) over its
// grid-stride share, reduced by a fixed tree. blockDim.x must be 256. The one copy of this arithmetic, so the
// per-tensor and the multi-tensor kernels give the same partials bit for bit.
__device__ __forceinline__ double sumsq_block(const float* g, unsigned long long n, unsigned int block, unsigned int blocks, double* buf)
{
    double acc = 0;
    for (unsigned long long i = (unsigned long long)block * blockDim.x + threadIdx.x, s = (unsigned long long)blocks * blockDim.x; i < n; i += s)
    {
        double v = g[i];
        acc += v * v;
    }
    return block_sum<SUMSQ_THREADS>(acc, buf);
}

// partials[blockIdx.x] = this block's sum of g^2 (g (n,)). The host sums the partials in order (CudaOptim.SumSquares,
// the reference of the on-device norm).
extern "C" __global__ void sumsq_partial_f32(const float* g, unsigned long long n, double* partials)
{
    __shared__ double buf[SUMSQ_THREADS];
    double total = sumsq_block(g, n, blockIdx.x, gridDim.x, buf);
    if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// Up to GRAD_MULTI_MAX gradients in one launch: g[t] (n[t],) owns blocks [block_end[t-1], block_end[t]) as in AdamChunk.
// Passed by value (640 bytes); matches CudaGradChunk in src/Engine/Cuda/Ops/CudaOptim.cs.
#define GRAD_MULTI_MAX 32
struct GradChunk
{
    float* g[GRAD_MULTI_MAX];
    unsigned long long n[GRAD_MULTI_MAX];
    unsigned int block_end[GRAD_MULTI_MAX];
};
static_assert(sizeof(GradChunk) == 640, "GradChunk must match CudaGradChunk in CudaOptim.cs");

// The partials of `count` gradients (blocks per tensor as sumsq_partial_f32 would get alone: CudaOptim.SumSquaresBlocks):
// partials[blockIdx.x] = that block's sum of g^2; ends[t] = base + block_end[t], the end of tensor t's partials in the
// whole step's partial buffer (this chunk's partials start at index base of it).
extern "C" __global__ void sumsq_multi_f32(GradChunk c, int count, double* partials, unsigned int* ends, unsigned int base)
{
    __shared__ double buf[SUMSQ_THREADS];
    unsigned int first;
    int t = multi_tensor_of(c.block_end, &first);
    double total = sumsq_block(c.g[t], c.n[t], blockIdx.x - first, c.block_end[t] - first, buf);
    if (threadIdx.x == 0) partials[blockIdx.x] = total;
    if (blockIdx.x == 0 && threadIdx.x < count) ends[threadIdx.x] = base + c.block_end[threadIdx.x];
}

// One block of 256: norm[0] = (float)sqrt(sum over tensors t in order of (sum of partials[ends[t-1] .. ends[t]) in order)),
// ends (count,), partials (ends[count-1],), ends[-1] = 0; count 0 gives 0. The same additions in the same order as the
// host loop of CudaOptim.SumSquares and GradClip, so the norm is bit-identical to it. Each tensor's partials are
// summed by one thread (in parallel across tensors) and left in its first slot; thread 0 adds those.
extern "C" __global__ void sumsq_norm_f32(double* partials, const unsigned int* ends, unsigned int count, float* norm)
{
    for (unsigned int t = threadIdx.x; t < count; t += blockDim.x)
    {
        unsigned int start = t > 0 ? ends[t - 1] : 0u, end = ends[t];
        double s = 0;
        for (unsigned int j = start; j < end; j++) s += partials[j];
        partials[start] = s;
    }
    __syncthreads();
    if (threadIdx.x != 0) return;
    double total = 0;
    for (unsigned int t = 0; t < count; t++) total += partials[t > 0 ? ends[t - 1] : 0u];
    norm[0] = (float)sqrt(total);
}

// g *= max_norm / (norm + 1e-6) over the chunk's gradients (blocks per tensor as CudaLaunch.Grid), only when the norm
// (norm[0], on the device: no host wait) is finite and above max_norm (GradClip's CPU rule; NaN, Inf or a norm within
// the bound leave every gradient unchanged). The scale in double from the float norm, rounded to float, as the CPU.
extern "C" __global__ void clip_scale_multi_f32(GradChunk c, const float* norm, float max_norm)
{
    float nv = norm[0];
    if (!(nv > max_norm) || !(nv <= 3.40282347e38f)) return;   // written so that NaN fails both tests
    float scale = (float)((double)max_norm / ((double)nv + 1e-6));
    unsigned int first;
    int t = multi_tensor_of(c.block_end, &first);
    float* g = c.g[t];
    unsigned long long n = c.n[t], stride = (unsigned long long)(c.block_end[t] - first) * blockDim.x;
    for (unsigned long long i = (unsigned long long)(blockIdx.x - first) * blockDim.x + threadIdx.x; i < n; i += stride) g[i] = MUL(g[i], scale);
}
