#include "../../native/cuda/reduce.cu"
typedef unsigned long long u64;
extern "C" void emu_sum_rows_f32(unsigned g, unsigned b, const float* x, float* y, u64 rows, u64 r) { emu_run(g, b, [&] { sum_rows_f32(x, y, rows, r); }); }
extern "C" void emu_max_rows_f32(unsigned g, unsigned b, const float* x, float* v, long long* i, u64 rows, u64 r) { emu_run(g, b, [&] { max_rows_f32(x, v, i, rows, r); }); }
