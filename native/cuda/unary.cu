// Unary elementwise kernels y = f(x), one per CPU operator struct in src/Kernels/Elementwise
// (AbsOp -> abs_f32, ClampOp -> clamp_f32, ...). x and y are contiguous (n,) float32; x == y
// is allowed (in-place scaling of gradients). p0, p1 are the op's constants (ScaleOp's s,
// ClampOp's lo and hi, PowOp's p); ops without constants ignore them. common.cuh's map_f32 runs
// the loop: float4 when x and y are 16-byte aligned, 64-bit indices, any grid covers any n.
#include "common.cuh"

// The same float expressions as the CPU structs (NaN propagates through clamp as Math.Min/Max do).
__device__ __forceinline__ float cochlea_sigmoid(float x) { return x >= 0.f ? 1.f / (1.f + expf(-x)) : expf(x) / (1.f + expf(x)); }
__device__ __forceinline__ float cochlea_clamp(float x, float lo, float hi) { return x != x ? x : (x < lo ? lo : (x > hi ? hi : x)); }
__device__ __forceinline__ float cochlea_pow(float x, float p) { return p == 2.f ? x * x : p == 1.f ? x : p == 3.f ? x * x * x : powf(x, p); }

#define UNARY_OP(NAME, EXPR)                                                                   \
extern "C" __global__ void NAME(const float* x, float* y, unsigned long long n, float p0, float p1) \
{ map_f32([=](float v) -> float { return (EXPR); }, y, n, x); }

UNARY_OP(abs_f32, fabsf(v))
UNARY_OP(neg_f32, -v)
UNARY_OP(exp_f32, expf(v))
UNARY_OP(log_f32, logf(v))
// Log1pOp computes log(1 + x) in double: 1 + x is exact there for any float x near 0.
UNARY_OP(log1p_f32, (float)log(1.0 + (double)v))
UNARY_OP(sqrt_f32, sqrtf(v))
UNARY_OP(sigmoid_f32, cochlea_sigmoid(v))
UNARY_OP(silu_f32, v * cochlea_sigmoid(v))
UNARY_OP(tanh_f32, tanhf(v))
UNARY_OP(scale_f32, p0 * v)
UNARY_OP(add_scalar_f32, v + p0)
UNARY_OP(clamp_f32, cochlea_clamp(v, p0, p1))
UNARY_OP(pow_f32, cochlea_pow(v, p0))
