// Runs grid-stride CUDA kernels on the host, single-threaded (gridDim = blockDim = 1), to check their logic.
#include "shim_common.h"
#include "shim_checks.h"
static emu_dim3 gridDim = {1, 1, 1}, blockDim = {1, 1, 1}, blockIdx = {0, 0, 0}, threadIdx = {0, 0, 0};
static inline void __syncthreads() {}
template <class T> static inline T __shfl_xor_sync(unsigned int, T v, int) { return v; }
