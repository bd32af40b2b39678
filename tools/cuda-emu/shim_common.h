// CUDA keywords and intrinsics for compiling native/cuda kernels as host C++ (shared by both shims).
#include <math.h>
#include <string.h>
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
struct emu_dim3 { unsigned int x, y, z; };
// CUDA's float4 (16-byte aligned as on the GPU, whose 128-bit accesses must be; see libnvrtc.cpp's alignment trap).
struct alignas(16) float4 { float x, y, z, w; };
static inline unsigned int __umulhi(unsigned int a, unsigned int b) { return (unsigned int)(((unsigned long long)a * b) >> 32); }
static inline float __fmul_rn(float a, float b) { volatile float r = a * b; return r; }
static inline float __fadd_rn(float a, float b) { volatile float r = a + b; return r; }
static inline float __fsub_rn(float a, float b) { volatile float r = a - b; return r; }
static inline float __fdiv_rn(float a, float b) { volatile float r = a / b; return r; }
static inline float __fsqrt_rn(float a) { return sqrtf(a); }
static inline float __int_as_float(int v) { float f; memcpy(&f, &v, 4); return f; }
