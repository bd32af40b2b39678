// Binary and ternary elementwise kernels with NumPy broadcasting, one family per CPU operator
// struct in src/Kernels/Elementwise (AddOp -> add_f32, DivRhsGradOp -> div_rhs_grad_f32, ...).
// Each binary op comes in four forms, chosen on the host (src/Engine/Cuda/Ops/CudaElementwise.cs):
//   NAME_f32          a, b, y contiguous (n,): common.cuh's map_f32 (float4 when all three are 16-byte aligned)
//   NAME_rscalar_f32  a contiguous (n,), b one element (read once), y (n,)
//   NAME_lscalar_f32  a one element, b contiguous (n,), y (n,)
//   NAME_strided_f32  any strides (0 on broadcast dims) over a collapsed shape of rank <= 8, y contiguous
// Ternary ops (backward helpers and select) have NAME_f32 and NAME_strided_f32.
// p0, p1 are the op's constants (ClampGradOp's lo/hi, PowGradOp's p). 64-bit indices throughout.
#include "common.cuh"

// Collapsed broadcast plan, passed by value: y (shape[0], ..., shape[rank-1]) contiguous; operand k
// element at sum_d idx_d * s_k[d]. Matches CudaBroadcastPlan in C# (sequential, 8-byte aligned, 264 bytes).
struct BcastPlan
{
    long long shape[8];
    long long sa[8];
    long long sb[8];
    long long sc[8];
    int rank;
};

__device__ __forceinline__ void bcast_offsets(const BcastPlan& p, unsigned long long i, long long& oa, long long& ob, long long& oc)
{
    oa = 0; ob = 0; oc = 0;
    for (int d = p.rank - 1; d >= 0; d--)
    {
        unsigned long long s = (unsigned long long)p.shape[d];
        long long k = (long long)(i % s);
        i /= s;
        oa += k * p.sa[d]; ob += k * p.sb[d]; oc += k * p.sc[d];
    }
}

// The same float expressions as the CPU structs.
__device__ __forceinline__ float cochlea_sigmoid2(float x) { return x >= 0.f ? 1.f / (1.f + expf(-x)) : expf(x) / (1.f + expf(x)); }
__device__ __forceinline__ float cochlea_pow2(float x, float p) { return p == 2.f ? x * x : p == 1.f ? x : p == 3.f ? x * x * x : powf(x, p); }
// Math.Max / Math.Min semantics: NaN if either operand is NaN.
__device__ __forceinline__ float cochlea_max(float a, float b) { return a != a || b != b ? a + b : (a > b ? a : b); }
__device__ __forceinline__ float cochlea_min(float a, float b) { return a != a || b != b ? a + b : (a < b ? a : b); }

#define GRID_STRIDE_LOOP(i, n) \
    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x, _s = (unsigned long long)gridDim.x * blockDim.x; i < (n); i += _s)

#define BINARY_OP(NAME, EXPR)                                                                                   \
extern "C" __global__ void NAME##_f32(const float* a, const float* b, float* y, unsigned long long n, float p0, float p1) \
{ map_f32([=](float va, float vb) -> float { return (EXPR); }, y, n, a, b); }                                 \
extern "C" __global__ void NAME##_rscalar_f32(const float* a, const float* b, float* y, unsigned long long n, float p0, float p1) \
{ float vb = *b; GRID_STRIDE_LOOP(i, n) { float va = a[i]; y[i] = (EXPR); } }                                 \
extern "C" __global__ void NAME##_lscalar_f32(const float* a, const float* b, float* y, unsigned long long n, float p0, float p1) \
{ float va = *a; GRID_STRIDE_LOOP(i, n) { float vb = b[i]; y[i] = (EXPR); } }                                 \
extern "C" __global__ void NAME##_strided_f32(const float* a, const float* b, float* y, unsigned long long n, BcastPlan plan, float p0, float p1) \
{                                                                                                               \
    GRID_STRIDE_LOOP(i, n)                                                                                      \
    {                                                                                                           \
        long long oa, ob, oc;                                                                                   \
        bcast_offsets(plan, i, oa, ob, oc);                                                                     \
        float va = a[oa], vb = b[ob];                                                                           \
        y[i] = (EXPR);                                                                                          \
    }                                                                                                           \
}

#define TERNARY_OP(NAME, EXPR)                                                                                  \
extern "C" __global__ void NAME##_f32(const float* a, const float* b, const float* c, float* y, unsigned long long n, float p0, float p1) \
{ map_f32([=](float va, float vb, float vc) -> float { return (EXPR); }, y, n, a, b, c); }                    \
extern "C" __global__ void NAME##_strided_f32(const float* a, const float* b, const float* c, float* y, unsigned long long n, BcastPlan plan, float p0, float p1) \
{                                                                                                               \
    GRID_STRIDE_LOOP(i, n)                                                                                      \
    {                                                                                                           \
        long long oa, ob, oc;                                                                                   \
        bcast_offsets(plan, i, oa, ob, oc);                                                                     \
        float va = a[oa], vb = b[ob], vc = c[oc];                                                               \
        y[i] = (EXPR);                                                                                          \
    }                                                                                                           \
}

BINARY_OP(add, va + vb)
BINARY_OP(sub, va - vb)
BINARY_OP(mul, va * vb)
BINARY_OP(div, va / vb)
BINARY_OP(max, cochlea_max(va, vb))
BINARY_OP(min, cochlea_min(va, vb))
// Gradient ops: a = dy, b = the saved input x or output y (as each CPU struct documents).
BINARY_OP(abs_grad, vb > 0.f ? va : (vb < 0.f ? -va : 0.f))
BINARY_OP(clamp_grad, vb > p0 && vb < p1 ? va : 0.f)
BINARY_OP(log1p_grad, va / (1.f + vb))
BINARY_OP(pow_grad, va * p0 * cochlea_pow2(vb, p0 - 1.f))
BINARY_OP(sigmoid_grad, va * vb * (1.f - vb))
BINARY_OP(silu_grad, va * cochlea_sigmoid2(vb) * (1.f + vb * (1.f - cochlea_sigmoid2(vb))))
BINARY_OP(sqrt_grad, 0.5f * va / vb)
BINARY_OP(tanh_grad, va * (1.f - vb * vb))

// d(a/b)/db = -dy a / b^2 with (a, b, c) = (dy, a, b).
TERNARY_OP(div_rhs_grad, -(va * vb) / (vc * vc))
// where: c != 0 ? a : b.
TERNARY_OP(select, vc != 0.f ? va : vb)
