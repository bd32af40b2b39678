#include "../../native/cuda/loss.cu"
typedef unsigned long long u64;
extern "C" void emu_cross_entropy_labels_f32(unsigned g, unsigned b, const float* x, const void* labels, int i32, u64 rows, u64 C, double keep, double uniform, float* unit, float* loss, u64* check)
{ emu_run(g, b, [&] { cross_entropy_labels_f32(x, labels, i32, rows, C, keep, uniform, unit, loss, check); }); }
extern "C" void emu_cross_entropy_probs_f32(unsigned g, unsigned b, const float* x, const float* t, u64 rows, u64 C, double keep, double uniform, float* unit, float* logp, float* loss)
{ emu_run(g, b, [&] { cross_entropy_probs_f32(x, t, rows, C, keep, uniform, unit, logp, loss); }); }
extern "C" void emu_kl_div_distill_f32(unsigned g, unsigned b, const float* s, const float* t, u64 rows, u64 C, double invT, int probs, float* unit, float* loss, u64* check_value, u64* check_sum)
{ emu_run(g, b, [&] { kl_div_distill_f32(s, t, rows, C, invT, probs, unit, loss, check_value, check_sum); }); }
extern "C" void emu_loss_sum_f32(unsigned g, unsigned b, const float* v, u64 n, double scale, float* out) { emu_run(g, b, [&] { loss_sum_f32(v, n, scale, out); }); }
