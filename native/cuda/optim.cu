// Fused optimizer updates (src/Engine/Optim/Sgd.cs, Adam.cs, RmsProp.cs) and the per-tensor sum
// of squares for gradient-norm clipping (GradClip.cs). p, g and the state slots are contiguous (n,).
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
    // Linear search: at most 32 compares per block, against one launch per parameter saved.
    int t = 0;
    while (blockIdx.x >= c.block_end[t]) t++;
    unsigned int first = t > 0 ? c.block_end[t - 1] : 0u;
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

// partials[blockIdx.x] = sum of g[i]^2 (in double; float squares are exact in double) over this block's
// grid-stride share, reduced by a fixed tree. The host sums the partials in order. blockDim.x must be 256.
extern "C" __global__ void sumsq_partial_f32(const float* g, unsigned long long n, double* partials)
{
    __shared__ double buf[SUMSQ_THREADS];
    double acc = 0;
    FOR_EACH(i, n) { double v = g[i]; acc += v * v; }
    double total = block_sum<SUMSQ_THREADS>(acc, buf);
    if (threadIdx.x == 0) partials[blockIdx.x] = total;
}
