// Pointwise halves of one recurrent step (ReLU/tanh Elman RNN and LSTM), around the per-step cuBLAS GEMM
// hw = h_prev W_hh^T (B, G*H). The cell adds the projected input xw[t] and b_hh itself, so a forward step is
// one GEMM + one kernel. Sequences end at lengths[b] (null: all T); past the end a row keeps its state and
// outputs 0, and in backward passes its gradient through unchanged - the CPU op's semantics (Ops.Recurrence).
// Layouts (row-major): xw_t (B, G*H); hw, dpre (B, G*H); h, c (B, H); y rows (B, ldy) - ldy = 2H for the
// halves of a bidirectional output; gates (B, 4H) activated (i, f, g, o) as torch.nn.LSTM.

__device__ __forceinline__ bool rnn_active(const int* lengths, int b, int t) { return lengths == 0 || t < lengths[b]; }
__device__ __forceinline__ float rnn_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// h_next = act(hw + xw_t + b_hh); y_t = h_next (0 when ended). relu != 0: ReLU, else tanh. One thread per (b, j).
extern "C" __global__ void rnn_cell_forward_f32(const float* __restrict__ hw, const float* __restrict__ xw, const float* __restrict__ bhh,
    const float* __restrict__ h_prev, float* __restrict__ h_next, float* __restrict__ y, int ldy,
    const int* __restrict__ lengths, int t, int batch, int hidden, int relu)
{
    int total = batch * hidden;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x)
    {
        int b = i / hidden, j = i % hidden;
        float* yo = y + (long long)b * ldy + j;
        if (!rnn_active(lengths, b, t)) { h_next[i] = h_prev[i]; *yo = 0.0f; continue; }
        float a = hw[i] + xw[i] + (bhh == 0 ? 0.0f : bhh[j]);
        float v = relu ? fmaxf(a, 0.0f) : tanhf(a);
        h_next[i] = v; *yo = v;
    }
}

// LSTM step, gates (i, f, g, o) at column offsets 0, H, 2H, 3H of each (4H) row.
extern "C" __global__ void lstm_cell_forward_f32(const float* __restrict__ hw, const float* __restrict__ xw, const float* __restrict__ bhh,
    const float* __restrict__ c_prev, const float* __restrict__ h_prev, float* __restrict__ gates, float* __restrict__ c_next,
    float* __restrict__ h_next, float* __restrict__ y, int ldy, const int* __restrict__ lengths, int t, int batch, int hidden, float forget_bias)
{
    int total = batch * hidden;
    for (int idx = blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += gridDim.x * blockDim.x)
    {
        int b = idx / hidden, j = idx % hidden;
        long long row = (long long)b * 4 * hidden;
        float* gt = gates + row;
        float* yo = y + (long long)b * ldy + j;
        if (!rnn_active(lengths, b, t))
        {
            gt[j] = 0.0f; gt[hidden + j] = 0.0f; gt[2 * hidden + j] = 0.0f; gt[3 * hidden + j] = 0.0f;
            c_next[idx] = c_prev[idx]; h_next[idx] = h_prev[idx]; *yo = 0.0f;
            continue;
        }
        float a[4];
        for (int q = 0; q < 4; q++)
        {
            long long o = row + q * hidden + j;
            a[q] = hw[o] + xw[o] + (bhh == 0 ? 0.0f : bhh[q * hidden + j]);
        }
        float ig = rnn_sigmoid(a[0]), fg = rnn_sigmoid(a[1] + forget_bias), gg = tanhf(a[2]), og = rnn_sigmoid(a[3]);
        float cc = fg * c_prev[idx] + ig * gg;
        float hh = og * tanhf(cc);
        gt[j] = ig; gt[hidden + j] = fg; gt[2 * hidden + j] = gg; gt[3 * hidden + j] = og;
        c_next[idx] = cc; h_next[idx] = hh; *yo = hh;
    }
}

// dh = (active ? gy_t : 0) + carried, where carried is the gradient flowing from step s+1 (t_after = its time, -1 when
// there is none): rows active at s+1 take dhw_next (the GEMM dpre_{s+1} W_hh), ended rows dh_{s+1} itself (dh, in place).
__device__ __forceinline__ float rnn_dh(const float* gy, int ldgy, const float* dh_next_gemm, const float* dh, const int* lengths,
    int b, int j, int i, int t, int t_after)
{
    float carried = 0.0f;
    if (t_after >= 0) carried = rnn_active(lengths, b, t_after) ? dh_next_gemm[i] : dh[i];
    return (rnn_active(lengths, b, t) ? gy[(long long)b * ldgy + j] : 0.0f) + carried;
}

// Elman backward of step s at time t: dh as above (kept in dh for the next step down), dpre = dh * act'(h_next)
// (0 when ended), written to dpre (saved for dW_hh) and dxw_t.
extern "C" __global__ void rnn_cell_backward_f32(const float* __restrict__ h_next, const float* __restrict__ gy, int ldgy,
    const float* __restrict__ dh_next_gemm, float* dh, float* __restrict__ dpre, float* __restrict__ dxw,
    const int* __restrict__ lengths, int t, int t_after, int batch, int hidden, int relu)
{
    int total = batch * hidden;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x)
    {
        int b = i / hidden, j = i % hidden;
        float d = rnn_dh(gy, ldgy, dh_next_gemm, dh, lengths, b, j, i, t, t_after);
        dh[i] = d;
        float v = h_next[i];
        float p = rnn_active(lengths, b, t) ? d * (relu ? (v > 0.0f ? 1.0f : 0.0f) : 1.0f - v * v) : 0.0f;
        dpre[i] = p; dxw[i] = p;
    }
}

// LSTM backward of step s: dh as above; dc (B, H) carries the cell gradient down (unchanged on ended rows).
extern "C" __global__ void lstm_cell_backward_f32(const float* __restrict__ gates, const float* __restrict__ c_prev, const float* __restrict__ c_next,
    const float* __restrict__ gy, int ldgy, const float* __restrict__ dh_next_gemm, float* dh, float* dc,
    float* __restrict__ dpre, float* __restrict__ dxw, const int* __restrict__ lengths, int t, int t_after, int batch, int hidden)
{
    int total = batch * hidden;
    for (int idx = blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += gridDim.x * blockDim.x)
    {
        int b = idx / hidden, j = idx % hidden;
        float d = rnn_dh(gy, ldgy, dh_next_gemm, dh, lengths, b, j, idx, t, t_after);
        dh[idx] = d;
        long long row = (long long)b * 4 * hidden;
        float* dp = dpre + row;
        float* dx = dxw + row;
        if (!rnn_active(lengths, b, t))
        {
            for (int q = 0; q < 4; q++) { dp[q * hidden + j] = 0.0f; dx[q * hidden + j] = 0.0f; }
            continue;
        }
        const float* gt = gates + row;
        float ig = gt[j], fg = gt[hidden + j], gg = gt[2 * hidden + j], og = gt[3 * hidden + j];
        float tc = tanhf(c_next[idx]);
        float dcj = dc[idx] + d * og * (1.0f - tc * tc);
        float v0 = dcj * gg * ig * (1.0f - ig);
        float v1 = dcj * c_prev[idx] * fg * (1.0f - fg);
        float v2 = dcj * ig * (1.0f - gg * gg);
        float v3 = d * tc * og * (1.0f - og);
        dp[j] = v0; dp[hidden + j] = v1; dp[2 * hidden + j] = v2; dp[3 * hidden + j] = v3;
        dx[j] = v0; dx[hidden + j] = v1; dx[2 * hidden + j] = v2; dx[3 * hidden + j] = v3;
        dc[idx] = dcj * fg;
    }
}
