// The time recurrence of LSTM, GRU and simple (tanh/ReLU) RNN layers as one fused op. The input
// projection xw = x W_ih^T + b_ih for every step is done beforehand as ONE GEMM (Ops.Linear), so
// this op only runs the sequential part: per step one GEMM (B, H) x (H, G*H) and a pointwise cell.
// Backward is BPTT with per-step GEMMs for dh and a single GEMM at the end for dW_hh; buffers are
// allocated once per call, never per step. Sequences shorter than T (lengths) stop updating their
// state and output zeros, so padding never leaks into the state, in either direction.
using Cochlea.Autograd;
using Cochlea.Kernels.Gemm;
using Cochlea.Kernels.Rnn;

namespace Cochlea;

/// <summary>Kind of recurrent cell.</summary>
public enum RecurrentCell
{
    /// <summary>LSTM, gates (i, f, g, o) as torch.nn.LSTM: G = 4.</summary>
    Lstm,
    /// <summary>GRU, gates (r, z, n) as torch.nn.GRU: G = 3.</summary>
    Gru,
    /// <summary>Elman RNN with tanh: G = 1.</summary>
    RnnTanh,
    /// <summary>Elman RNN with ReLU: G = 1.</summary>
    RnnRelu,
}

public static unsafe partial class Ops
{
    /// <summary>
    /// Runs a recurrence over time-major projected inputs <paramref name="xw"/> (T, B, G*H) = x W_ih^T + b_ih.
    /// <paramref name="wHh"/> is (G*H, H) as PyTorch stores weight_hh (used as h W_hh^T), or (H, G*H) when
    /// <paramref name="hhInputMajor"/> (Keras layout, used as h W_hh). <paramref name="bHh"/> (G*H) is optional.
    /// <paramref name="lengths"/> (B) gives each sequence's valid steps (null: all T). <paramref name="reverse"/> runs
    /// from the last valid step back to 0. <paramref name="forgetBias"/> is added to the LSTM forget gate (TF's forget_bias).
    /// Returns the hidden states (T, B, H), zero after each sequence's end.
    /// </summary>
    public static Tensor Recurrence(Tensor xw, Tensor wHh, Tensor? bHh, RecurrentCell cell, bool reverse = false,
        int[]? lengths = null, float forgetBias = 0f, bool hhInputMajor = false)
    {
        RequireFloat(xw, "recurrence"); RequireFloat(wHh, "recurrence");
        xw.Device.RequireCpu("recurrence");
        int gcount = cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };
        if (xw.Rank != 3) throw new ArgumentException($"recurrence: expected projected inputs (T, B, {gcount}*H), got {xw.Describe()}.");
        int T = xw.Size(0), B = xw.Size(1), GH = xw.Size(2);
        if (GH % gcount != 0) throw new ArgumentException($"recurrence: last dim {GH} of {xw.Describe()} is not a multiple of {gcount} gates ({cell}).");
        int H = GH / gcount;
        int[] expectW = hhInputMajor ? [H, GH] : [GH, H];
        if (!Tensor.SameShape(wHh.Shape, expectW)) throw new ArgumentException($"recurrence: weight_hh must be {Tensor.FormatShape(expectW)} for {xw.Describe()}, got {wHh.Describe()}.");
        if (bHh is not null && (bHh.Rank != 1 || bHh.Size(0) != GH)) throw new ArgumentException($"recurrence: bias_hh must be ({GH},), got {bHh.Describe()}.");
        if (lengths is not null)
        {
            if (lengths.Length != B) throw new ArgumentException($"recurrence: {lengths.Length} lengths for a batch of {B}.");
            foreach (var l in lengths) if (l < 0 || l > T) throw new ArgumentException($"recurrence: sequence length {l} outside [0, {T}].");
        }

        var st = new RecurrenceState(cell, T, B, H, gcount, reverse, lengths, forgetBias, hhInputMajor);
        var y = Tensor.Empty(T, B, H);
        using (var xc = xw.ContiguousRaw())
        using (var wc = wHh.ContiguousRaw())
        using (var bc = bHh?.ContiguousRaw())
            st.Forward(xc.DataPtr, wc.DataPtr, bc is null ? null : bc.DataPtr, y.DataPtr);

        Tensor[] inputs = bHh is null ? [xw, wHh] : [xw, wHh, bHh];
        return BackwardPass.Record(y, "recurrence", inputs, g =>
        {
            var dxw = Tensor.Empty(T, B, GH);
            var dw = Tensor.Empty(wHh.ShapeArray);
            var db = bHh is null ? null : Tensor.Empty(GH);
            using (var gc = g.ContiguousRaw())
            using (var wc = wHh.ContiguousRaw())
                st.Backward(gc.DataPtr, wc.DataPtr, dxw.DataPtr, dw.DataPtr, db is null ? null : db.DataPtr);
            st.Dispose();
            return bHh is null ? [dxw, dw] : [dxw, dw, db];
        });
    }

    // Saved activations of one forward, in processing order s (time t = reverse ? T-1-s : s).
    sealed class RecurrenceState(RecurrentCell cell, int T, int B, int H, int G, bool reverse, int[]? lengths, float forgetBias, bool hhInputMajor) : IDisposable
    {
        readonly int GH = G * H;
        Tensor? _h, _c, _gates, _hw, _active;
        // h: (T+1, B, H) states before/after each step; c likewise (LSTM); gates (T, B, GH) activated gates;
        // hw (T, B, GH): W_hh h + b_hh per step (GRU needs it inside r * (...)); active (T, B) bytes.

        int TimeOf(int s) => reverse ? T - 1 - s : s;

        public void Forward(float* xw, float* w, float* bhh, float* y)
        {
            using var _ = TensorScope.Suspend();   // saved state lives until backward, whatever scope is active
            _h = Tensor.Zeros(T + 1, B, H);
            _gates = Tensor.Empty(Math.Max(T, 1), B, GH);
            _active = Tensor.Empty([Math.Max(T * B, 1)], DType.Int32);
            if (cell == RecurrentCell.Lstm) _c = Tensor.Zeros(T + 1, B, H);
            if (cell == RecurrentCell.Gru) _hw = Tensor.Empty(Math.Max(T, 1), B, GH);
            using var pre = Tensor.Empty(B, GH);
            float* ph = _h.DataPtr, pg = _gates.DataPtr, pp = pre.DataPtr;
            byte* act = (byte*)_active.RawPtr;
            for (int s = 0; s < T; s++)
            {
                int t = TimeOf(s);
                byte* a = act + (long)s * B;
                for (int b = 0; b < B; b++) a[b] = (byte)(lengths is null || t < lengths[b] ? 1 : 0);
                float* hPrev = ph + (long)s * B * H, hNext = hPrev + (long)B * H;
                float* xt = xw + (long)t * B * GH, yt = y + (long)t * B * H, gs = pg + (long)s * B * GH;
                // target of the recurrent GEMM: the pre-activations (LSTM, RNN) or hw (GRU)
                float* target = cell == RecurrentCell.Gru ? _hw!.DataPtr + (long)s * B * GH : pp;
                if (cell == RecurrentCell.Gru) FillBias(target, bhh);
                else
                {
                    new Span<float>(xt, B * GH).CopyTo(new Span<float>(pp, B * GH));
                    if (bhh != null) AddBias(pp, bhh);
                }
                HiddenGemm(hPrev, w, target, beta: cell == RecurrentCell.Gru && bhh == null ? 0f : 1f);
                switch (cell)
                {
                    case RecurrentCell.Lstm:
                        float* pc = _c!.DataPtr + (long)s * B * H;
                        LstmCell.Forward(pp, pc, hPrev, gs, pc + (long)B * H, hNext, yt, a, B, H, forgetBias);
                        break;
                    case RecurrentCell.Gru:
                        GruCell.Forward(xt, target, hPrev, gs, hNext, yt, a, B, H);
                        break;
                    default:
                        SimpleRnnCell.Forward(pp, hPrev, hNext, yt, a, B, H, cell == RecurrentCell.RnnTanh ? RnnActivation.Tanh : RnnActivation.Relu);
                        break;
                }
            }
        }

        public void Backward(float* gy, float* w, float* dxw, float* dw, float* dbhh)
        {
            using var _ = TensorScope.Suspend();
            using var dH = Tensor.Zeros(B, H);
            using var dh = Tensor.Empty(B, H);
            using var dDirect = Tensor.Empty(B, H);
            using var dC = cell == RecurrentCell.Lstm ? Tensor.Zeros(B, H) : null;
            using var dHw = Tensor.Empty(Math.Max(T, 1), B, GH);   // dL/d(recurrent GEMM output), by s
            float* pdH = dH.DataPtr, pdh = dh.DataPtr, pdd = dDirect.DataPtr, pdHw = dHw.DataPtr;
            float* ph = _h!.DataPtr, pg = _gates!.DataPtr;
            byte* act = (byte*)_active!.RawPtr;
            for (int s = T - 1; s >= 0; s--)
            {
                int t = TimeOf(s);
                byte* a = act + (long)s * B;
                float* gyt = gy + (long)t * B * H, dxt = dxw + (long)t * B * GH, dhws = pdHw + (long)s * B * GH;
                float* hPrev = ph + (long)s * B * H, hNext = hPrev + (long)B * H, gs = pg + (long)s * B * GH;
                // dh = output gradient (only where the step was real) + the gradient carried from step s+1
                for (int b = 0; b < B; b++)
                    for (int j = 0; j < H; j++)
                    {
                        long i = (long)b * H + j;
                        pdh[i] = (a[b] != 0 ? gyt[i] : 0f) + pdH[i];
                    }
                switch (cell)
                {
                    case RecurrentCell.Lstm:
                        float* pc = _c!.DataPtr + (long)s * B * H;
                        LstmCell.Backward(gs, pc, pc + (long)B * H, pdh, dC!.DataPtr, dhws, a, B, H);
                        new Span<float>(dhws, B * GH).CopyTo(new Span<float>(dxt, B * GH));
                        break;
                    case RecurrentCell.Gru:
                        GruCell.Backward(gs, _hw!.DataPtr + (long)s * B * GH, hPrev, pdh, dxt, dhws, pdd, a, B, H);
                        break;
                    default:
                        SimpleRnnCell.Backward(hNext, pdh, dhws, a, B, H, cell == RecurrentCell.RnnTanh ? RnnActivation.Tanh : RnnActivation.Relu);
                        new Span<float>(dhws, B * GH).CopyTo(new Span<float>(dxt, B * GH));
                        break;
                }
                // carried gradient for step s-1: dHw W_hh (+ z * dh for GRU); ended rows pass dh through unchanged
                if (hhInputMajor) Sgemm.Run(false, true, B, H, GH, 1f, dhws, GH, w, GH, 0f, pdH, H);
                else Sgemm.Run(false, false, B, H, GH, 1f, dhws, GH, w, H, 0f, pdH, H);
                for (int b = 0; b < B; b++)
                {
                    long o = (long)b * H;
                    if (a[b] == 0) new Span<float>(pdh + o, H).CopyTo(new Span<float>(pdH + o, H));
                    else if (cell == RecurrentCell.Gru) for (int j = 0; j < H; j++) pdH[o + j] += pdd[o + j];
                }
            }
            // dW_hh = sum_s dHw_s^T h_s (or h_s^T dHw_s in the input-major layout): one GEMM over all steps.
            int rows = T * B;
            if (rows == 0) { new Span<float>(dw, GH * H).Clear(); if (dbhh != null) new Span<float>(dbhh, GH).Clear(); return; }
            if (hhInputMajor) Sgemm.Run(true, false, H, GH, rows, 1f, ph, H, pdHw, GH, 0f, dw, GH);
            else Sgemm.Run(true, false, GH, H, rows, 1f, pdHw, GH, ph, H, 0f, dw, H);
            if (dbhh != null)
            {
                new Span<float>(dbhh, GH).Clear();
                for (long r = 0; r < rows; r++)
                    for (int j = 0; j < GH; j++) dbhh[j] += pdHw[r * GH + j];
            }
        }

        void HiddenGemm(float* hPrev, float* w, float* target, float beta)
        {
            if (hhInputMajor) Sgemm.Run(false, false, B, GH, H, 1f, hPrev, H, w, GH, beta, target, GH);
            else Sgemm.Run(false, true, B, GH, H, 1f, hPrev, H, w, H, beta, target, GH);
        }

        void FillBias(float* target, float* bias)
        {
            for (int b = 0; b < B; b++)
                if (bias != null) new Span<float>(bias, GH).CopyTo(new Span<float>(target + (long)b * GH, GH));
        }

        void AddBias(float* target, float* bias)
        {
            for (int b = 0; b < B; b++)
                for (int j = 0; j < GH; j++) target[(long)b * GH + j] += bias[j];
        }

        public void Dispose() { _h?.Dispose(); _c?.Dispose(); _gates?.Dispose(); _hw?.Dispose(); _active?.Dispose(); }
    }
}
