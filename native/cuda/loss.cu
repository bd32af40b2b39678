// The fused losses of src/Engine/Losses/Loss.cs: per row (or element) the loss and the gradient for a
// unit upstream gradient in one pass, in double like the CPU. Row kernels use one warp per row of C
// classes (lanes stride the row, butterfly shuffles: order-fixed, every lane gets the result);
// blockDim.x is a multiple of 32. Totals are reduced by loss_sum_f32 (one block, fixed order), and
// backward scales the unit gradient by the upstream gradient with loss_scale_rows_f32.
#include "common.cuh"

// log-sum-exp of z (n values, z_j = src[j] * mul, or log(src[j]) * mul when take_log) by one warp.
__device__ __forceinline__ double warp_lse(const float* src, unsigned long long n, double mul, bool take_log, unsigned int lane, double& m)
{
    m = -1.0 / 0.0;
    for (unsigned long long j = lane; j < n; j += 32) m = fmax(m, (take_log ? log((double)src[j]) : (double)src[j]) * mul);
    m = warp_max(m);
    double s = 0;
    for (unsigned long long j = lane; j < n; j += 32) s += exp((take_log ? log((double)src[j]) : (double)src[j]) * mul - m);
    return m + log(warp_sum(s));
}

// Class labels: x (rows, C), labels (rows,) int64 (int32 when labels_i32), contiguous.
// q_c = keep [c == y] + uniform; loss_rows[r] = -keep lp_y - uniform sum_c lp_c; unit (nullable) = p - q.
// A label outside [0, C) makes its row's loss and unit gradient NaN and is recorded in check (check_failed).
extern "C" __global__ void cross_entropy_labels_f32(const float* x, const void* labels, int labels_i32, unsigned long long rows,
    unsigned long long C, double keep, double uniform, float* unit, float* loss_rows, unsigned long long* check)
{
    WARP_ROWS(r, rows, lane)
    {
        const float* z = x + r * C;
        long long y = labels_i32 ? (long long)((const int*)labels)[r] : ((const long long*)labels)[r];
        if (y < 0 || y >= (long long)C)
        {
            // The whole warp is on row r, so it skips the shuffles together.
            if (lane == 0) { check_failed(check, r, check_int_bits(y)); loss_rows[r] = check_nan(); }
            if (unit)
                for (unsigned long long j = lane; j < C; j += 32) unit[r * C + j] = check_nan();
            continue;
        }
        double m, lse = warp_lse(z, C, 1.0, false, lane, m);
        double sumLp = 0;
        for (unsigned long long j = lane; j < C; j += 32) sumLp += (double)z[j] - lse;
        sumLp = warp_sum(sumLp);
        if (lane == 0) loss_rows[r] = (float)(-keep * ((double)z[y] - lse) - uniform * sumLp);
        if (unit)
            for (unsigned long long j = lane; j < C; j += 32)
                unit[r * C + j] = (float)(exp((double)z[j] - lse) - uniform - ((long long)j == y ? keep : 0.0));
    }
}

// Class probabilities t (rows, C): q = keep t + uniform; loss = -sum_c q_c lp_c; unit = p sum(q) - q;
// logp (nullable) = lp, for the targets' gradient -(keep) lp.
extern "C" __global__ void cross_entropy_probs_f32(const float* x, const float* t, unsigned long long rows, unsigned long long C,
    double keep, double uniform, float* unit, float* logp, float* loss_rows)
{
    WARP_ROWS(r, rows, lane)
    {
        const float* z = x + r * C;
        const float* tr = t + r * C;
        double m, lse = warp_lse(z, C, 1.0, false, lane, m);
        double qSum = 0, loss = 0;
        for (unsigned long long j = lane; j < C; j += 32)
        {
            double q = keep * tr[j] + uniform;
            qSum += q;
            loss -= q * ((double)z[j] - lse);
        }
        qSum = warp_sum(qSum);
        loss = warp_sum(loss);
        if (lane == 0) loss_rows[r] = (float)loss;
        for (unsigned long long j = lane; j < C; j += 32)
        {
            double lp = (double)z[j] - lse;
            if (unit) unit[r * C + j] = (float)(exp(lp) * qSum - (keep * tr[j] + uniform));
            if (logp) logp[r * C + j] = (float)lp;
        }
    }
}

// Elementwise BCE on logits: t' = keep t + half; loss = max(x, 0) - x t' + log1p(exp(-|x|)); unit = sigmoid(x) - t'.
// A target outside [0, 1] (or NaN) makes that loss and unit NaN and is recorded in check (check_failed).
extern "C" __global__ void bce_with_logits_f32(const float* x, const float* t, unsigned long long n, double keep, double half,
    float* unit, float* loss_elems, unsigned long long* check)
{
    unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    {
        if (!(t[i] >= 0.f && t[i] <= 1.f))
        {
            check_failed(check, i, __float_as_uint(t[i]));
            loss_elems[i] = check_nan();
            if (unit) unit[i] = check_nan();
            continue;
        }
        double xv = x[i], tv = keep * t[i] + half;
        double e = exp(-fabs(xv));
        loss_elems[i] = (float)(fmax(xv, 0.0) - xv * tv + log1p(e));
        if (unit) unit[i] = (float)((xv >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e)) - tv);
    }
}

// Squared error: loss = (p - t)^2, unit = 2 (p - t) (nullable).
extern "C" __global__ void mse_f32(const float* p, const float* t, unsigned long long n, float* unit, float* loss_elems)
{
    unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
    {
        double d = (double)p[i] - t[i];
        loss_elems[i] = (float)(d * d);
        if (unit) unit[i] = (float)(2 * d);
    }
}

// Distillation: s, t (rows, C); zs = s / T, zt = t / T (or log(t) / T for teacher probabilities);
// loss_rows[r] = sum_{q > 0} q (log q - log p); unit (nullable) = p - q.
// Teacher probabilities are checked (check_failed): a negative or non-finite one in check_value (position
// r * C + c), a row summing to 0 in check_sum (position r); either makes the row's loss and unit NaN.
extern "C" __global__ void kl_div_distill_f32(const float* s, const float* t, unsigned long long rows, unsigned long long C,
    double invT, int teacher_probs, float* unit, float* loss_rows, unsigned long long* check_value, unsigned long long* check_sum)
{
    WARP_ROWS(r, rows, lane)
    {
        const float* sr = s + r * C;
        const float* tr = t + r * C;
        if (teacher_probs)
        {
            // Lanes stride the row; warp_sum / warp_max give every lane the row's verdict, so the warp stays together.
            double sum = 0, bad = 0;
            for (unsigned long long j = lane; j < C; j += 32)
            {
                float v = tr[j];
                if (!(v >= 0.f) || !(v <= 3.402823466e38f)) { check_failed(check_value, r * C + j, __float_as_uint(v)); bad = 1; }
                else sum += v;
            }
            sum = warp_sum(sum);
            bad = warp_max(bad);
            if (bad == 0 && !(sum > 0) && lane == 0) check_failed(check_sum, r, __float_as_uint((float)sum));
            if (bad != 0 || !(sum > 0))
            {
                if (lane == 0) loss_rows[r] = check_nan();
                if (unit)
                    for (unsigned long long j = lane; j < C; j += 32) unit[r * C + j] = check_nan();
                continue;
            }
        }
        double ms, mt;
        double lseS = warp_lse(sr, C, invT, false, lane, ms);
        double lseT = warp_lse(tr, C, invT, teacher_probs != 0, lane, mt);
        double total = 0;
        for (unsigned long long j = lane; j < C; j += 32)
        {
            double zs = (double)sr[j] * invT, zt = (teacher_probs ? log((double)tr[j]) : (double)tr[j]) * invT;
            double q = exp(zt - lseT), p = exp(zs - lseS);
            if (q > 0) total += q * ((zt - lseT) - (zs - lseS));
            if (unit) unit[r * C + j] = (float)(p - q);
        }
        total = warp_sum(total);
        if (lane == 0) loss_rows[r] = (float)total;
    }
}

#define LOSS_SUM_THREADS 256

// out[0] = (float)(scale * sum v) over n values, in double, by ONE block of 256 threads (grid 1):
// fixed strided partial sums, then a fixed tree. Deterministic.
extern "C" __global__ void loss_sum_f32(const float* v, unsigned long long n, double scale, float* out)
{
    __shared__ double buf[LOSS_SUM_THREADS];
    double acc = 0;
    for (unsigned long long i = threadIdx.x; i < n; i += LOSS_SUM_THREADS) acc += v[i];
    double total = block_sum<LOSS_SUM_THREADS>(acc, buf);
    if (threadIdx.x == 0) out[0] = (float)(total * scale);
}

// Backward: out (rows, k) = unit * s_r with s_r = (float)(g[0] factor / div) for a reduced loss
// (per_row = 0; div = rows for "mean", 1 for "sum") or (float)(g[r] factor) for "none" (per_row = 1).
extern "C" __global__ void loss_scale_rows_f32(const float* unit, const float* g, float* out, unsigned long long rows,
    unsigned long long k, double factor, double div, int per_row)
{
    unsigned long long n = rows * k, stride = (unsigned long long)gridDim.x * blockDim.x;
    float s0 = per_row ? 0.f : (float)((double)g[0] * factor / div);
    for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        out[i] = unit[i] * (per_row ? (float)((double)g[i / k] * factor) : s0);
}
