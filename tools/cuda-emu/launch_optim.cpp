#include "../../native/cuda/optim.cu"
typedef unsigned long long u64;
extern "C" void emu_sumsq_partial_f32(unsigned g, unsigned b, const float* x, u64 n, double* partials) { emu_run(g, b, [&] { sumsq_partial_f32(x, n, partials); }); }
extern "C" void emu_adam_f32(unsigned g, unsigned b, float* p, const float* gr, float* m, float* v, float* vmax, u64 n, float ss, float bc, float b1, float b2, float ob1, float ob2, float eps, float l2, float sh, int ams)
{ emu_run(g, b, [&] { adam_f32(p, gr, m, v, vmax, n, ss, bc, b1, b2, ob1, ob2, eps, l2, sh, ams); }); }
