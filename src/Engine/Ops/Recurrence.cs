// The time recurrence of LSTM, GRU and simple (tanh/ReLU) RNN layers as one fused op. The input
// projection xw = x W_ih^T + b_ih for every step is done beforehand as ONE GEMM (Ops.Linear), so
// this op only runs the sequential part: per step one GEMM (B, H) x (H, G*H) and a pointwise cell.
// Backward is BPTT with per-step GEMMs for dh and a single GEMM at the end for dW_hh; buffers are
// allocated once per call, never per step. Sequences shorter than T (lengths) stop updating their
// state and output zeros, so padding never leaks into the state, in either direction.
using Cochlea.Autograd;
using Cochlea.Kernels.Gemm;
using Cochlea.Kernels.Rnn;
using Cochlea.Kernels.Threading;
using Cochlea.Memory;

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
    /// Returns the hidden states (T, B, H), zero after each sequence's end. On the CPU, <paramref name="packedHh"/> (output-major
    /// unless <paramref name="hhInputMajor"/>) supplies W_hh already packed for the per-step GEMMs, repacked only when it changed.
    /// </summary>
    public static Tensor Recurrence(Tensor xw, Tensor wHh, Tensor? bHh, RecurrentCell cell, bool reverse = false,
        int[]? lengths = null, float forgetBias = 0f, bool hhInputMajor = false, PackedWeightCache? packedHh = null)
    {
        var (T, B, H, gcount) = CheckRecurrence(xw, wHh, bHh, cell, lengths, hhInputMajor, "recurrence");
        CheckPacked(packedHh, wHh, hhInputMajor, "recurrence");
        int GH = gcount * H;
        if (!xw.Device.IsCpu) return RecurrenceCuda(xw, wHh, bHh, cell, reverse, lengths, forgetBias, hhInputMajor, T, B, H, GH);
        var st = new RecurrenceState(cell, T, B, H, gcount, reverse, lengths, forgetBias, hhInputMajor, KernelThreads.Count);
        var y = Tensor.Empty(T, B, H);
        using (var xc = xw.ContiguousRaw())
        using (var bc = bHh?.ContiguousRaw())
        using (var packed = packedHh?.Acquire(wHh))
        {
            // With a packed W_hh its pointer is not taken: that would bump its WriteVersion and stale the pack.
            using var wc = packed is null ? wHh.ContiguousRaw() : null;
            st.Forward(xc.ReadDataPtr, wc is null ? null : wc.ReadDataPtr, bc is null ? null : bc.DataPtr, y.DataPtr, packed?.Value);
        }

        Tensor[] inputs = bHh is null ? [xw, wHh] : [xw, wHh, bHh];
        BackwardPass.Record(y, "recurrence", inputs, g =>
        {
            var dxw = Tensor.Empty(T, B, GH);
            var dw = Tensor.Empty(wHh.ShapeArray);
            var db = bHh is null ? null : Tensor.Empty(GH);
            using (var gc = g.ContiguousRaw())
            using (var wc = wHh.ContiguousRaw())
            {
                st.AllocateBackward();
                st.BackwardSteps(gc.DataPtr, wc.ReadDataPtr, dxw.DataPtr);
                st.BackwardWeights(dw.DataPtr, db is null ? null : db.DataPtr);
            }
            st.Dispose();
            return bHh is null ? [dxw, dw] : [dxw, dw, db];
        });
        if (y.GradFn is null) st.Dispose();   // not recorded (no grad): nothing will need the saved state
        return y;
    }

    /// <summary>
    /// Both directions of a bidirectional layer in one op: <see cref="Recurrence"/> forwards over <paramref name="xwF"/> with
    /// (<paramref name="wF"/>, <paramref name="bF"/>) and in reverse over <paramref name="xwR"/> with (<paramref name="wR"/>,
    /// <paramref name="bR"/>), outputs concatenated on the last axis: (T, B, 2H) = [forward | reverse]. The same values as two
    /// Recurrence calls and a concat; with two or more kernel threads the two directions run at the same time, one per
    /// thread, forward and backward (each time loop is sequential and its per-step GEMMs are GEMV-like, so one core per
    /// direction beats two cores per step, and the threads meet once per layer instead of once per step).
    /// <paramref name="packedF"/> and <paramref name="packedR"/> as <see cref="Recurrence"/>'s packedHh, one per direction.
    /// </summary>
    public static Tensor BidirectionalRecurrence(Tensor xwF, Tensor wF, Tensor? bF, Tensor xwR, Tensor wR, Tensor? bR,
        RecurrentCell cell, int[]? lengths = null, float forgetBias = 0f, bool hhInputMajor = false,
        PackedWeightCache? packedF = null, PackedWeightCache? packedR = null)
    {
        var (T, B, H, gcount) = CheckRecurrence(xwF, wF, bF, cell, lengths, hhInputMajor, "bidirectional_recurrence");
        var shapeR = CheckRecurrence(xwR, wR, bR, cell, lengths, hhInputMajor, "bidirectional_recurrence");
        if (shapeR != (T, B, H, gcount) || (bF is null) != (bR is null))
            throw new ArgumentException($"bidirectional_recurrence: the reverse direction ({xwR.Describe()}, {wR.Describe()}) must match the forward one ({xwF.Describe()}, {wF.Describe()}), biases both given or both null.");
        CheckPacked(packedF, wF, hhInputMajor, "bidirectional_recurrence");
        CheckPacked(packedR, wR, hhInputMajor, "bidirectional_recurrence");
        int GH = gcount * H;
        if (!xwF.Device.IsCpu) return BidirectionalRecurrenceCuda(xwF, wF, bF, xwR, wR, bR, cell, lengths, forgetBias, hhInputMajor, T, B, H, GH);
        bool together = KernelThreads.Count >= 2;
        int inner = together ? 1 : KernelThreads.Count;
        var st = new[]
        {
            new RecurrenceState(cell, T, B, H, gcount, false, lengths, forgetBias, hhInputMajor, inner),
            new RecurrenceState(cell, T, B, H, gcount, true, lengths, forgetBias, hhInputMajor, inner),
        };
        var y = Tensor.Empty(T, B, 2 * H);
        using (var yF = Tensor.Empty(T, B, H))
        using (var yR = Tensor.Empty(T, B, H))
        using (var xf = xwF.ContiguousRaw())
        using (var xr = xwR.ContiguousRaw())
        using (var pf = packedF?.Acquire(wF))
        using (var pr = packedR?.Acquire(wR))
        using (var wf = pf is null ? wF.ContiguousRaw() : null)   // a packed weight's pointer is not taken (it would stale the pack)
        using (var wr = pr is null ? wR.ContiguousRaw() : null)
        using (var bf = bF?.ContiguousRaw())
        using (var br = bR?.ContiguousRaw())
        {
            float*[] x = [xf.DataPtr, xr.DataPtr], w = [wf is null ? null : wf.ReadDataPtr, wr is null ? null : wr.ReadDataPtr], yd = [yF.DataPtr, yR.DataPtr];
            float*[] b = [bf is null ? null : bf.DataPtr, br is null ? null : br.DataPtr];
            PackedGemmB?[] p = [pf?.Value, pr?.Value];
            foreach (var s in st) s.Allocate();
            BothDirections(together, d => st[d].Forward(x[d], w[d], b[d], yd[d], p[d]));
            InterleaveHalves(yF.DataPtr, yR.DataPtr, y.DataPtr, T * B, H, toHalves: false);
        }

        Tensor[] inputs = bF is null ? [xwF, wF, xwR, wR] : [xwF, wF, bF, xwR, wR, bR!];
        BackwardPass.Record(y, "bidirectional_recurrence", inputs, g =>
        {
            var dxw = new[] { Tensor.Empty(T, B, GH), Tensor.Empty(T, B, GH) };
            var dw = new[] { Tensor.Empty(wF.ShapeArray), Tensor.Empty(wR.ShapeArray) };
            var db = bF is null ? null : new[] { Tensor.Empty(GH), Tensor.Empty(GH) };
            using (var gc = g.ContiguousRaw())
            using (var gF = Tensor.Empty(T, B, H))
            using (var gR = Tensor.Empty(T, B, H))
            using (var wf = wF.ContiguousRaw())
            using (var wr = wR.ContiguousRaw())
            {
                InterleaveHalves(gF.DataPtr, gR.DataPtr, gc.DataPtr, T * B, H, toHalves: true);
                foreach (var s in st) s.AllocateBackward();
                float*[] gy = [gF.DataPtr, gR.DataPtr], w = [wf.ReadDataPtr, wr.ReadDataPtr], dx = [dxw[0].DataPtr, dxw[1].DataPtr];
                BothDirections(together, d => st[d].BackwardSteps(gy[d], w[d], dx[d]));
                // dW_hh: one big GEMM per direction over all steps, on every thread.
                for (int d = 0; d < 2; d++) st[d].BackwardWeights(dw[d].DataPtr, db is null ? null : db[d].DataPtr);
            }
            foreach (var s in st) s.Dispose();
            return db is null ? [dxw[0], dw[0], dxw[1], dw[1]] : [dxw[0], dw[0], db[0], dxw[1], dw[1], db[1]];
        });
        if (y.GradFn is null) foreach (var s in st) s.Dispose();
        return y;
    }

    static void CheckPacked(PackedWeightCache? packed, Tensor w, bool hhInputMajor, string op)
    {
        if (packed is not null && packed.OutputMajor == hhInputMajor)
            throw new ArgumentException($"{op}: the packed cache for weight_hh {w.Describe()} must be {(hhInputMajor ? "input-major (H, G*H)" : "output-major (G*H, H)")}, as hhInputMajor = {hhInputMajor}.");
    }

    // Direction 0 and 1, one per kernel thread (or one after the other).
    static void BothDirections(bool together, Action<int> run)
    {
        if (together) KernelThreads.For(2, 1, 2, (s, e) => { for (int d = s; d < e; d++) run(d); });
        else { run(0); run(1); }
    }

    // rows of [a | b] (2H) <-> rows of a (H) and b (H).
    static void InterleaveHalves(float* a, float* b, float* both, int rows, int H, bool toHalves)
    {
        for (long r = 0; r < rows; r++)
        {
            var sa = new Span<float>(a + r * H, H); var sb = new Span<float>(b + r * H, H);
            var sl = new Span<float>(both + r * 2 * H, H); var sr = new Span<float>(both + r * 2 * H + H, H);
            if (toHalves) { sl.CopyTo(sa); sr.CopyTo(sb); }
            else { sa.CopyTo(sl); sb.CopyTo(sr); }
        }
    }

    static (int T, int B, int H, int G) CheckRecurrence(Tensor xw, Tensor wHh, Tensor? bHh, RecurrentCell cell, int[]? lengths, bool hhInputMajor, string op)
    {
        RequireFloat(xw, op); RequireFloat(wHh, op);
        int gcount = cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };
        if (xw.Rank != 3) throw new ArgumentException($"{op}: expected projected inputs (T, B, {gcount}*H), got {xw.Describe()}.");
        int T = xw.Size(0), B = xw.Size(1), GH = xw.Size(2);
        if (GH % gcount != 0) throw new ArgumentException($"{op}: last dim {GH} of {xw.Describe()} is not a multiple of {gcount} gates ({cell}).");
        int H = GH / gcount;
        int[] expectW = hhInputMajor ? [H, GH] : [GH, H];
        if (!Tensor.SameShape(wHh.Shape, expectW)) throw new ArgumentException($"{op}: weight_hh must be {Tensor.FormatShape(expectW)} for {xw.Describe()}, got {wHh.Describe()}.");
        if (bHh is not null && (bHh.Rank != 1 || bHh.Size(0) != GH)) throw new ArgumentException($"{op}: bias_hh must be ({GH},), got {bHh.Describe()}.");
        if (lengths is not null)
        {
            if (lengths.Length != B) throw new ArgumentException($"{op}: {lengths.Length} lengths for a batch of {B}.");
            foreach (var l in lengths) if (l < 0 || l > T) throw new ArgumentException($"{op}: sequence length {l} outside [0, {T}].");
        }
        return (T, B, H, gcount);
    }

    // Saved activations of one forward, in processing order s (time t = reverse ? T-1-s : s).
    // Per-step GEMMs run on `threads` threads against W_hh packed once per call (PackedGemmB).
    sealed class RecurrenceState(RecurrentCell cell, int T, int B, int H, int G, bool reverse, int[]? lengths, float forgetBias, bool hhInputMajor, int threads) : IDisposable
    {
        readonly int GH = G * H;
        Tensor? _h, _c, _gates, _hw, _active, _dHw;
        // h: (T+1, B, H) states before/after each step; c likewise (LSTM); gates (T, B, GH) activated gates;
        // hw (T, B, GH): W_hh h + b_hh per step (GRU needs it inside r * (...)); active (T, B) bytes.

        int TimeOf(int s) => reverse ? T - 1 - s : s;

        /// <summary>Allocates the saved state (on the calling thread, so tensors never come from a kernel worker).</summary>
        public void Allocate()
        {
            if (_h is not null) return;
            using var _ = TensorScope.Suspend();   // saved state lives until backward, whatever scope is active
            _h = Tensor.Zeros(T + 1, B, H);
            _gates = Tensor.Empty(Math.Max(T, 1), B, GH);
            _active = Tensor.Empty([Math.Max(T * B, 1)], DType.Int32);
            if (cell == RecurrentCell.Lstm) _c = Tensor.Zeros(T + 1, B, H);
            if (cell == RecurrentCell.Gru) _hw = Tensor.Empty(Math.Max(T, 1), B, GH);
            _pre = NativeBuffer(B * GH);
        }

        float* _pre;

        public void AllocateBackward()
        {
            using var _ = TensorScope.Suspend();
            _dHw ??= Tensor.Empty(Math.Max(T, 1), B, GH);
        }

        static float* NativeBuffer(long floats) => (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)Math.Max(1, floats) * sizeof(float), 64);

        // prepacked: W_hh from a PackedWeightCache (then w is not read), else packed here.
        public void Forward(float* xw, float* w, float* bhh, float* y, PackedGemmB? prepacked = null)
        {
            Allocate();
            // W_hh is packed once here and reused by every step (h (B, H) x W_hh^T): no repacking per step.
            using var own = prepacked is not null ? null : hhInputMajor ? new PackedGemmB(false, H, GH, w, GH) : new PackedGemmB(true, H, GH, w, H);
            var packed = prepacked ?? own!;
            float* ph = _h!.DataPtr, pg = _gates!.DataPtr, pp = _pre;
            byte* act = (byte*)_active!.RawPtr;
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
                packed.Run(B, 1f, hPrev, H, cell == RecurrentCell.Gru && bhh == null ? 0f : 1f, target, GH, threads);
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

        /// <summary>The sequential part of BPTT: writes dL/dxw and keeps dL/d(recurrent GEMM output) for <see cref="BackwardWeights"/>.</summary>
        public void BackwardSteps(float* gy, float* w, float* dxw)
        {
            // Step buffers are native (not pooled tensors): this may run on a kernel worker thread.
            long bh = (long)B * H;
            float* pdH = NativeBuffer(bh), pdh = NativeBuffer(bh), pdd = NativeBuffer(bh), dC = NativeBuffer(bh);
            new Span<float>(pdH, (int)bh).Clear(); new Span<float>(dC, (int)bh).Clear();
            try { Steps(gy, w, dxw, pdH, pdh, pdd, dC); }
            finally { Free(pdH); Free(pdh); Free(pdd); Free(dC); }
        }

        void Steps(float* gy, float* w, float* dxw, float* pdH, float* pdh, float* pdd, float* dC)
        {
            float* pdHw = _dHw!.DataPtr;   // dL/d(recurrent GEMM output), by s
            // dh_{s-1} = dHw_s W_hh: W_hh packed once for all steps.
            using var packed = hhInputMajor ? new PackedGemmB(true, GH, H, w, GH) : new PackedGemmB(false, GH, H, w, H);
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
                        LstmCell.Backward(gs, pc, pc + (long)B * H, pdh, dC, dhws, a, B, H);
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
                packed.Run(B, 1f, dhws, GH, 0f, pdH, H, threads);
                for (int b = 0; b < B; b++)
                {
                    long o = (long)b * H;
                    if (a[b] == 0) new Span<float>(pdh + o, H).CopyTo(new Span<float>(pdH + o, H));
                    else if (cell == RecurrentCell.Gru) for (int j = 0; j < H; j++) pdH[o + j] += pdd[o + j];
                }
            }
        }

        /// <summary>dW_hh and db_hh from what <see cref="BackwardSteps"/> kept, on all kernel threads.</summary>
        public void BackwardWeights(float* dw, float* dbhh)
        {
            float* ph = _h!.DataPtr, pdHw = _dHw!.DataPtr;
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

        static void Free(float* p) => System.Runtime.InteropServices.NativeMemory.AlignedFree(p);

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

        public void Dispose()
        {
            _h?.Dispose(); _c?.Dispose(); _gates?.Dispose(); _hw?.Dispose(); _active?.Dispose(); _dHw?.Dispose();
            if (_pre != null) { Free(_pre); _pre = null; }
        }
    }
}
