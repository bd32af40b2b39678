// Shared by every kernel file: NVRTC gets it as an in-memory header, so `#include "common.cuh"`
// works in any native/cuda/*.cu (no system headers are available under NVRTC).
#pragma once

typedef long long i64;

// Grid-stride loop over n elements: any grid size covers any n (grids are capped on the host).
#define KERNEL_LOOP(i, n) \
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (i64)(n); i += (i64)blockDim.x * gridDim.x)
