#include "../../native/cuda/optim.cu"
typedef unsigned long long u64;
extern "C" void emu_sumsq_partial_f32(unsigned g, unsigned b, const float* x, u64 n, double* partials) { emu_run(g, b, [&] { sumsq_partial_f32(x, n, partials); }); }
