#include "../../native/cuda/softmax.cu"
typedef unsigned long long u64;
extern "C" void emu_softmax_rows_f32(unsigned g, unsigned b, const float* x, float* y, u64 rows, u64 n) { emu_run(g, b, [&] { softmax_rows_f32(x, y, rows, n); }); }
extern "C" void emu_log_softmax_rows_f32(unsigned g, unsigned b, const float* x, float* y, u64 rows, u64 n) { emu_run(g, b, [&] { log_softmax_rows_f32(x, y, rows, n); }); }
extern "C" void emu_softmax_backward_rows_f32(unsigned g, unsigned b, const float* y, const float* gr, float* dx, u64 rows, u64 n) { emu_run(g, b, [&] { softmax_backward_rows_f32(y, gr, dx, rows, n); }); }
extern "C" void emu_log_softmax_backward_rows_f32(unsigned g, unsigned b, const float* y, const float* gr, float* dx, u64 rows, u64 n) { emu_run(g, b, [&] { log_softmax_backward_rows_f32(y, gr, dx, rows, n); }); }
