// CTC loss and its gradient, the optimised CPU kernel. One sequence at a time (the batch splits over
// sequences across KernelThreads, so results never depend on the thread count):
//   inputs x (T, B, C) time-major, sequence b's frames at x + (t*B + b)*C, input length T_b <= T;
//   x holds log-probs lp, or logits whose log_softmax the kernel forms per frame (fused, see EmissionRows);
//   labels of sequence b at labels + offsets[b] (padded (B, Lmax) or concatenated, both are offsets);
//   extended labels l' = (blank, l1, blank, ..., lL, blank), S = 2L + 1 states.
//
// Why not the log-space recursion of the reference (3 exp + 1 log per state and frame, as PyTorch
// and warp-ctc do)? This kernel runs the forward-backward recursion in a *scaled linear domain*
// (Rabiner's scaling): per frame t the class probabilities are taken relative to the frame's best
// class, p_t(c) = exp(lp[t,c] - m_t), m_t = max_c lp[t,c] (C exps per frame instead of ~4S), and every
// row of alpha (and beta) is renormalised by its sum c_t, log p accumulating sum_t (m_t + log c_t).
// A state update is then two adds, a multiply-add and a multiply, SIMD over the state axis in
// double (the exponent range of double is what makes the scaled domain safe: float would flush
// lagging states after a few peaky frames).
//
// When is it safe? Values that fall below 1e-150 of their row's scale are flushed to 0 (which also
// keeps every product out of the slow subnormal range). That loses at most ~S*1e-150 of a row's
// mass per frame; its effect on p is bounded by (lost mass) / Z_t, where
//   Z_t = sum_s alphâ_t(s) betâ'_t(s)   (both rows normalised to sum 1, beta' excluding frame t)
// measures how well the forward and backward beliefs overlap at frame t. The backward pass computes
// Z_t for every frame anyway (it normalises the occupancies); if any Z_t < 1e-100, or anything is
// not finite, the sequence is recomputed by the log-space reference (CtcReference). That happens
// only when forward and backward evidence disagree by more than ~230 nats at some frame (a model
// confidently contradicting its labels); random or trained-and-agreeing outputs never trigger it.
//
// Gradient: with the exclusive backward variable beta'_t(s) (frames after t), the occupancy of state
// s at frame t is gamma_t(s) = alpha_t(s) beta'_t(s) / Z_t, and PyTorch's gradient w.r.t. the
// log-probs (equal to the gradient w.r.t. the logits when lp = log_softmax(logits)) is
//   grad[t, c] = exp(lp[t, c]) - sum_{s: l'_s = c} gamma_t(s)     for t < T_b, 0 afterwards.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cochlea.Kernels.Numerics;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Ctc;

/// <summary>What the kernel's input rows hold.</summary>
public enum CtcInput
{
    /// <summary>Log-probabilities lp (log_softmax output), PyTorch's ctc_loss input.</summary>
    LogProbs,
    /// <summary>Unnormalised logits z; the kernel normalises each frame itself (lp = z - logsumexp(z)), TensorFlow's input.</summary>
    Logits,
}

/// <summary>CTC negative log-likelihood and gradient: per sequence and batched over (T, B, C) inputs.</summary>
public static unsafe class CtcKernels
{
    /// <summary>Values below this fraction of their row's scale are flushed to 0 (no subnormals, bounded loss of mass).</summary>
    internal const double FlushRelative = 1e-150;
    /// <summary>Below this forward-backward overlap Z_t the scaled domain cannot vouch for its accuracy: use the reference.</summary>
    internal const double MinOverlap = 1e-100;
    /// <summary>Float exp is exact enough above this shifted log-prob; below, double exp keeps the tiny values.</summary>
    const double FloatExpFloor = -80.0;
    static readonly double LogFlush = Math.Log(FlushRelative);

    /// <summary>One sequence's arguments: input rows x (T rows of C, stride apart), labels, gradient rows and weight.</summary>
    readonly struct Seq(float* x, CtcInput input, long stride, int classes, int frames, int* labels, int labelCount, int blank,
        float* grad, long gradStride, double gradWeight)
    {
        public readonly float* X = x, Grad = grad;
        public readonly int* Labels = labels;
        public readonly long Stride = stride, GradStride = gradStride;
        public readonly int C = classes, T = frames, L = labelCount, Blank = blank;
        public readonly CtcInput Input = input;
        public readonly double GradWeight = gradWeight;
    }

    // ------------------------------------------------------------------ batch

    /// <summary>
    /// CTC losses <c>nll[b] = -log p(labels_b | lp[:T_b, b, :])</c> of a time-major batch, and optionally the gradient
    /// of <c>w_b nll[b]</c> with respect to the input rows: PyTorch's <c>grad[t, b, c] = w_b (exp(lp[t, b, c]) - occupancy_b(t, c))</c>
    /// for <c>t &lt; T_b</c> and 0 for <c>t &gt;= T_b</c>. With <see cref="CtcInput.Logits"/> the rows are logits z,
    /// lp = log_softmax(z) is formed per frame inside, and the same formula (softmax - occupancy) is the exact logits gradient.
    /// <para>Impossible labellings (e.g. <c>T_b &lt; L_b + repeats</c>) have <c>nll = +inf</c> and a NaN gradient, as
    /// PyTorch; with <paramref name="zeroInfinity"/> their loss and gradient are 0 instead. Sequences are split
    /// across threads in contiguous blocks; each is computed alone, so results are identical for any thread count.</para>
    /// </summary>
    /// <param name="x">(T, B, C) row-major: log-probabilities or logits, per <paramref name="input"/>.</param>
    /// <param name="input">What the rows of <paramref name="x"/> hold.</param>
    /// <param name="maxTime">T.</param>
    /// <param name="batch">B.</param>
    /// <param name="classes">C, including the blank.</param>
    /// <param name="inputLengths">T_b in [0, T], B entries.</param>
    /// <param name="labels">All labels; sequence b's L_b labels start at <c>labels + labelOffsets[b]</c>.</param>
    /// <param name="labelOffsets">B offsets (b * Lmax for padded targets, prefix sums for concatenated ones).</param>
    /// <param name="labelLengths">L_b &gt;= 0, B entries.</param>
    /// <param name="blank">Blank class in [0, C); no label may equal it.</param>
    /// <param name="zeroInfinity">Give impossible sequences loss 0 and gradient 0 instead of +inf and NaN.</param>
    /// <param name="nll">Output, B losses.</param>
    /// <param name="grad">Null, or the (T, B, C) gradient output.</param>
    /// <param name="gradWeights">Null (all 1) or B weights w_b folded into the gradient (a reduction's 1/(B L_b), say).</param>
    /// <param name="width">SIMD path of the recursion.</param>
    /// <param name="threads">Maximum number of threads (&lt;= 0: <see cref="KernelThreads.Count"/>).</param>
    public static void Batch(float* x, CtcInput input, int maxTime, int batch, int classes, int[] inputLengths, int* labels,
        int[] labelOffsets, int[] labelLengths, int blank, bool zeroInfinity, double[] nll, float* grad, double[]? gradWeights,
        SimdWidth width, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(inputLengths);
        ArgumentNullException.ThrowIfNull(labelOffsets);
        ArgumentNullException.ThrowIfNull(labelLengths);
        ArgumentNullException.ThrowIfNull(nll);
        if (maxTime < 0 || batch < 0 || classes < 1)
            throw new ArgumentOutOfRangeException(nameof(maxTime), $"ctc: expected T >= 0, B >= 0, C >= 1, got T = {maxTime}, B = {batch}, C = {classes}.");
        if ((uint)blank >= (uint)classes)
            throw new ArgumentOutOfRangeException(nameof(blank), blank, $"ctc: blank must be a class index in [0, {classes}).");
        if (inputLengths.Length < batch || labelOffsets.Length < batch || labelLengths.Length < batch || nll.Length < batch
            || (gradWeights is not null && gradWeights.Length < batch))
            throw new ArgumentException($"ctc: inputLengths, labelOffsets, labelLengths, nll (and gradWeights) need {batch} entries (one per sequence).");
        if (!Simd.Supports(width)) throw new PlatformNotSupportedException($"{width} is not available here (best: {Simd.Best}).");
        if (batch == 0) return;
        if (x == null) throw new ArgumentNullException(nameof(x));
        for (int b = 0; b < batch; b++)
        {
            if ((uint)inputLengths[b] > (uint)maxTime)
                throw new ArgumentOutOfRangeException(nameof(inputLengths), inputLengths[b], $"ctc: input length {inputLengths[b]} of sequence {b} is outside [0, T = {maxTime}].");
            if (labelLengths[b] < 0 || labelOffsets[b] < 0)
                throw new ArgumentOutOfRangeException(nameof(labelLengths), $"ctc: sequence {b} has label length {labelLengths[b]} and offset {labelOffsets[b]}; both must be >= 0.");
            if (labelLengths[b] > 0 && labels == null) throw new ArgumentNullException(nameof(labels));
            ValidateLabels(labels + labelOffsets[b], labelLengths[b], classes, blank, b);
        }

        long stride = (long)batch * classes;
        nint px = (nint)x, pLab = (nint)labels, pGrad = (nint)grad;
        KernelThreads.For(batch, 1, threads > 0 ? threads : KernelThreads.Count, (b0, b1) =>
        {
            using var ws = new CtcWorkspace();
            for (int b = b0; b < b1; b++)
            {
                int tb = inputLengths[b];
                float* g = pGrad == 0 ? null : (float*)pGrad + (long)b * classes;
                var q = new Seq((float*)px + (long)b * classes, input, stride, classes, tb, (int*)pLab + labelOffsets[b], labelLengths[b],
                    blank, g, stride, gradWeights?[b] ?? 1.0);
                double v = Run(q, width, ws, out _);
                if (double.IsPositiveInfinity(v))
                {
                    if (zeroInfinity) v = 0;
                    if (g != null) FillRows(g, stride, classes, 0, tb, zeroInfinity ? 0f : float.NaN);
                }
                if (g != null) FillRows(g, stride, classes, tb, maxTime, 0f);
                nll[b] = v;
            }
        });
    }

    // ------------------------------------------------------------------ one sequence

    /// <summary>
    /// The loss <c>-log p(labels | lp)</c> of one sequence and, when <paramref name="grad"/> is not null and the loss is
    /// finite, the gradient <c>exp(lp[t, c]) - occupancy(t, c)</c> of its frames <c>t &lt; T</c> (see the file header);
    /// for <see cref="CtcInput.Logits"/> rows lp = log_softmax(x) per frame. Returns +inf for impossible labellings
    /// (then <paramref name="grad"/> is not written). <paramref name="usedReference"/> tells whether the scaled
    /// recursion handed the sequence to <see cref="CtcReference"/>.
    /// </summary>
    /// <param name="x">T rows of C floats, row t at <c>x + t * stride</c>: log-probs or logits.</param>
    /// <param name="input">What the rows hold.</param>
    /// <param name="stride">Row stride in floats (B*C in a (T, B, C) batch).</param>
    /// <param name="classes">C.</param>
    /// <param name="frames">T &gt;= 0.</param>
    /// <param name="labels">L labels in [0, C), none equal to <paramref name="blank"/>.</param>
    /// <param name="labelCount">L &gt;= 0.</param>
    /// <param name="blank">Blank class.</param>
    /// <param name="grad">Null or T rows of C floats with stride <paramref name="gradStride"/>.</param>
    /// <param name="gradStride">Row stride of <paramref name="grad"/>.</param>
    /// <param name="width">SIMD path.</param>
    /// <param name="usedReference">True when the sequence was computed by the log-space reference.</param>
    public static double Sequence(float* x, CtcInput input, long stride, int classes, int frames, int* labels, int labelCount, int blank,
        float* grad, long gradStride, SimdWidth width, out bool usedReference)
    {
        if (frames < 0 || labelCount < 0 || classes < 1)
            throw new ArgumentOutOfRangeException(nameof(frames), $"ctc: expected T >= 0, L >= 0, C >= 1, got T = {frames}, L = {labelCount}, C = {classes}.");
        if ((uint)blank >= (uint)classes)
            throw new ArgumentOutOfRangeException(nameof(blank), blank, $"ctc: blank must be a class index in [0, {classes}).");
        if (!Simd.Supports(width)) throw new PlatformNotSupportedException($"{width} is not available here (best: {Simd.Best}).");
        ValidateLabels(labels, labelCount, classes, blank, 0);
        using var ws = new CtcWorkspace();
        return Run(new Seq(x, input, stride, classes, frames, labels, labelCount, blank, grad, gradStride, 1.0), width, ws, out usedReference);
    }

    /// <summary>Minimum number of frames a labelling needs: one per label plus a blank between equal neighbours.</summary>
    public static int RequiredFrames(int* labels, int labelCount)
    {
        int need = labelCount;
        for (int i = 1; i < labelCount; i++) if (labels[i] == labels[i - 1]) need++;
        return need;
    }

    static void ValidateLabels(int* labels, int count, int classes, int blank, int sequence)
    {
        for (int i = 0; i < count; i++)
        {
            int l = labels[i];
            if ((uint)l >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(labels), l, $"ctc: label {l} at position {i} of sequence {sequence} is out of range for {classes} classes (expected 0 <= label < {classes}).");
            if (l == blank)
                throw new ArgumentException($"ctc: label at position {i} of sequence {sequence} is the blank ({blank}); targets must not contain the blank.", nameof(labels));
        }
    }

    static double Run(in Seq q, SimdWidth width, CtcWorkspace ws, out bool usedReference)
    {
        usedReference = false;
        if (q.T == 0) return q.L == 0 ? 0.0 : double.PositiveInfinity;
        if (q.T < RequiredFrames(q.Labels, q.L)) return double.PositiveInfinity;
        double v = width switch
        {
            SimdWidth.V512 => Scaled<CtcLanes512, Vector512<double>>(q, width, ws),
            SimdWidth.V256 => Scaled<CtcLanes256, Vector256<double>>(q, width, ws),
            SimdWidth.V128 => Scaled<CtcLanes128, Vector128<double>>(q, width, ws),
            _ => Scaled<CtcLanes1, double>(q, width, ws),
        };
        if (!double.IsNaN(v)) return v;
        // NaN is the scaled path's "cannot vouch for this one" (or genuinely NaN input: the reference says so too).
        usedReference = true;
        return ReferenceFallback(q);
    }

    /// <summary>The reference on log-probs: logits rows are normalised into a temporary first (a rare path).</summary>
    static double ReferenceFallback(in Seq q)
    {
        float* lp = q.X;
        long stride = q.Stride;
        float[]? normalised = null;
        if (q.Input == CtcInput.Logits)
        {
            normalised = new float[(long)q.T * q.C];
            for (int t = 0; t < q.T; t++)
            {
                float* row = q.X + t * q.Stride;
                double mx = double.NegativeInfinity, sum = 0;
                for (int c = 0; c < q.C; c++) mx = Math.Max(mx, row[c]);
                for (int c = 0; c < q.C; c++) sum += Math.Exp(row[c] - mx);
                double lse = mx + Math.Log(sum);
                for (int c = 0; c < q.C; c++) normalised[(long)t * q.C + c] = (float)(row[c] - lse);
            }
            stride = q.C;
        }
        fixed (float* pn = normalised)
        {
            double v = CtcReference.Sequence(pn != null ? pn : lp, stride, q.C, q.T, q.Labels, q.L, q.Blank, q.Grad, q.GradStride);
            if (q.Grad != null && q.GradWeight != 1.0 && double.IsFinite(v))
                for (int t = 0; t < q.T; t++)
                    for (int c = 0; c < q.C; c++) q.Grad[t * q.GradStride + c] *= (float)q.GradWeight;
            return v;
        }
    }

    // Row layout (alpha, beta, emissions, skip mask): state s lives at index j = s + 2, with two zero pads
    // in front (the s-1, s-2 reads of the forward) and zeros behind (the s+1, s+2 reads of the backward and
    // the last vector's spare lanes). 12 = 2 front pads + up to 8 spare lanes + 2 back reads.
    static int RowLength(int states) => (states + 12 + 7) & ~7;

    /// <summary>The scaled linear-domain forward-backward; NaN when the reference must take over.</summary>
    static double Scaled<TL, TV>(in Seq q, SimdWidth width, CtcWorkspace ws) where TL : struct, ICtcLanes<TV> where TV : struct
    {
        int C = q.C, T = q.T, L = q.L, blank = q.Blank;
        int* labels = q.Labels;
        float* grad = q.Grad;
        int S = 2 * L + 1, row = RowLength(S);
        ws.Ensure(T, row, C);
        double* A = ws.Alpha, P = ws.Probs, m = ws.Shift, cs = ws.Scale, e = ws.Emit, k = ws.Skip;
        new Span<double>(e, row).Clear();
        new Span<double>(k, row).Clear();
        // k[j] = 1 where the s-2 skip into state s = j-2 is allowed: s is a label different from the one before.
        for (int i = 1; i < L; i++) if (labels[i] != labels[i - 1]) k[2 * i + 3] = 1.0;
        // A virtual end state s = S reached from S-2 by the same mask: the backward's first row then needs no special case.
        k[S + 2] = 1.0;

        switch (width)
        {
            case SimdWidth.V512: EmissionRows<V512Ops, Vector512<float>>(q, P, m, ws.Floats); break;
            case SimdWidth.V256: EmissionRows<V256Ops, Vector256<float>>(q, P, m, ws.Floats); break;
            case SimdWidth.V128: EmissionRows<V128Ops, Vector128<float>>(q, P, m, ws.Floats); break;
            default: EmissionRows<ScalarOps, float>(q, P, m, ws.Floats); break;
        }

        // ---- forward: r_t = bracket(r_{t-1}) * p_t / c_{t-1}, c_t = sum_s r_t(s)
        double* r = A;
        new Span<double>(r, row).Clear();
        r[2] = P[blank];
        if (S > 1) r[3] = P[labels[0]];
        double c = r[2] + r[3];
        if (!(c > 0) || double.IsNaN(m[0])) return double.NaN;
        cs[0] = c;
        double logLik = m[0] + Math.Log(c);
        for (int t = 1; t < T; t++)
        {
            double* prev = A + (long)(t - 1) * row, cur = prev + row;
            cur[0] = cur[1] = 0;
            Gather(e, P + (long)t * C, labels, L, blank, 1.0 / c);
            double cNew = ForwardRow<TL, TV>(prev, cur, e, k, S, FlushRelative * c);
            if (!(cNew > 0) || double.IsInfinity(cNew) || double.IsNaN(m[t])) return double.NaN;
            c = cs[t] = cNew;
            logLik += m[t] + Math.Log(c);
        }
        double* last = A + (long)(T - 1) * row;
        double fin = (last[S + 1] + (S > 1 ? last[S] : 0.0)) / c;
        if (!(fin >= MinOverlap)) return double.NaN;
        logLik += Math.Log(fin);

        // ---- backward: b_t = bracket'(b_{t+1}) * p_t / d_{t+1}; the bracket w_t is beta'_t (frames after t).
        double* bNext = ws.Beta0, bCur = ws.Beta1, prod = ws.Product;
        new Span<double>(bNext, row).Clear();
        new Span<double>(bCur, row).Clear();
        bNext[S + 2] = 1.0;   // virtual end: w_{T-1} = 1 at S-1 and S-2, 0 elsewhere
        double d = 1.0;
        for (int t = T - 1; t >= 0; t--)
        {
            double* alpha = A + (long)t * row;
            Gather(e, P + (long)t * C, labels, L, blank, 1.0 / d);
            var (z, wSum, dNew) = BackwardRow<TL, TV>(bNext, bCur, alpha, e, k, prod, S, d, cs[t]);
            if (t == T - 1) bNext[S + 2] = 0.0;
            // z and wSum are in normalised units (alpha / c_t, w / d): z / wSum is the overlap of the two beliefs.
            if (!(z >= MinOverlap * wSum) || double.IsInfinity(z)) return double.NaN;
            if (t > 0 && !(dNew > 0 && !double.IsInfinity(dNew))) return double.NaN;
            if (grad != null)
            {
                if (t >= PrefetchAhead) Prefetch(grad + (t - PrefetchAhead) * q.GradStride, C);
                WriteGradRow(grad + t * q.GradStride, P + (long)t * C, m[t], prod, labels, L, blank, 1.0 / z, q.GradWeight, ws.Occupancy, C);
            }
            double* swap = bNext; bNext = bCur; bCur = swap;
            d = dNew;
        }
        return -logLik;
    }

    /// <summary>
    /// One forward row: <c>cur[s] = flush(prev[s] + prev[s-1] + k[s] prev[s-2]) * e[s]</c>, returning <c>sum_s cur[s]</c>.
    /// e already holds <c>p_t(l'_s) / c_{t-1}</c>; the flush threshold is <c>1e-150 c_{t-1}</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static double ForwardRow<TL, TV>(double* prev, double* cur, double* e, double* k, int S, double thr)
        where TL : struct, ICtcLanes<TV> where TV : struct
    {
        TV acc = TL.Zero, th = TL.Splat(thr);
        for (int j = 2; j < S + 2; j += TL.Count)
        {
            TV v = TL.MulAdd(TL.Load(k + j), TL.Load(prev + j - 2), TL.Add(TL.Load(prev + j), TL.Load(prev + j - 1)));
            v = TL.Mul(TL.FlushBelow(v, th), TL.Load(e + j));
            TL.Store(cur + j, v);
            acc = TL.Add(acc, v);
        }
        return TL.Sum(acc);
    }

    /// <summary>
    /// One backward row at frame t: <c>w[s] = flush(next[s] + next[s+1] + k[s+2] next[s+2])</c> (= beta'_t up to scale d),
    /// <c>prod[s] = flush(alpha[s] / c_t) * w[s] / d</c> (unnormalised occupancy), <c>cur[s] = w[s] * e[s]</c> with e = p_t / d.
    /// Returns (sum prod, sum w / d, sum cur). The alpha flush keeps prod out of the subnormal range; it drops
    /// contributions below 1e-150 of the row, far under the 1e-100 overlap the caller demands.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (double Z, double WSum, double D) BackwardRow<TL, TV>(double* next, double* cur, double* alpha, double* e, double* k,
        double* prod, int S, double d, double c) where TL : struct, ICtcLanes<TV> where TV : struct
    {
        TV zAcc = TL.Zero, wAcc = TL.Zero, dAcc = TL.Zero;
        TV thW = TL.Splat(FlushRelative * d), thA = TL.Splat(FlushRelative), invC = TL.Splat(1.0 / c), invD = TL.Splat(1.0 / d);
        for (int j = 2; j < S + 2; j += TL.Count)
        {
            TV w = TL.MulAdd(TL.Load(k + j + 2), TL.Load(next + j + 2), TL.Add(TL.Load(next + j), TL.Load(next + j + 1)));
            w = TL.FlushBelow(w, thW);
            TV wn = TL.Mul(w, invD);
            TV g = TL.Mul(TL.FlushBelow(TL.Mul(TL.Load(alpha + j), invC), thA), wn);
            TL.Store(prod + j, g);
            zAcc = TL.Add(zAcc, g);
            wAcc = TL.Add(wAcc, wn);
            TV b = TL.Mul(w, TL.Load(e + j));
            TL.Store(cur + j, b);
            dAcc = TL.Add(dAcc, b);
        }
        return (TL.Sum(zAcc), TL.Sum(wAcc), TL.Sum(dAcc));
    }

    /// <summary>
    /// The emission table of one sequence: for every frame t, <c>p[t, c] = exp(x[t, c] - max_c x[t, c])</c> in double, and
    /// the shift <c>m[t]</c> that turns it into probabilities, <c>exp(lp[t, c]) = p[t, c] e^{m[t]}</c>: the row maximum for
    /// log-prob rows, <c>-log sum_c p[t, c]</c> for logit rows (log_softmax fused: lp - max lp = x - max x). Vector float
    /// exp for the usual range (relative error ~1e-7), double exp below e^-80 where float would lose the value, 0 below
    /// the flush. m[t] is NaN when the row holds NaN or its maximum is infinite (the reference then takes over).
    /// </summary>
    static void EmissionRows<TO, TV>(in Seq q, double* p, double* m, float* f) where TO : struct, IVec<TV> where TV : struct
    {
        int C = q.C, T = q.T;
        int padded = PadFloats(C);   // a multiple of every vector width: no scalar tail of polynomial exps
        for (int t = 0; t < T; t++, p += C)
        {
            float* row = q.X + t * q.Stride;
            // Frames of one sequence are B*C floats apart (time-major batch): too far for the hardware
            // prefetcher, so every row would be a cache miss without this software prefetch.
            if (t + PrefetchAhead < T) Prefetch(row + PrefetchAhead * q.Stride, C);
            Buffer.MemoryCopy(row, f, (long)padded * sizeof(float), (long)C * sizeof(float));
            for (int c = C; c < padded; c++) f[c] = float.NegativeInfinity;
            TV vmax = TO.Splat(float.NegativeInfinity), nan = TO.Splat(0f);
            for (int i = 0; i < padded; i += TO.Count)
            {
                TV v = TO.Load(f + i);
                vmax = TO.Max(vmax, v);
                nan = TO.Or(nan, TO.IsNaN(v));   // Max drops NaN: tracked on the side
            }
            float mx = TO.MaxAcross(vmax);
            if (TO.SumAcross(TO.And(nan, TO.Splat(1f))) != 0f || float.IsInfinity(mx)) { m[t] = double.NaN; continue; }
            for (int c = C; c < padded; c++) f[c] = mx;   // padding lanes: exp(0), never read
            TV vm = TO.Splat(mx), low = TO.Splat(0f);
            for (int i = 0; i < padded; i += TO.Count)
            {
                TV v = TO.Sub(TO.Load(f + i), vm);
                low = TO.Min(low, v);
                TO.Store(f + i, VectorMath.Exp<TO, TV>(v));
            }
            for (int c = 0; c < C; c++) p[c] = f[c];
            if (-TO.MaxAcross(TO.Sub(TO.Splat(0f), low)) < FloatExpFloor)
                for (int c = 0; c < C; c++)
                {
                    double v = (double)row[c] - mx;
                    if (v < FloatExpFloor) p[c] = v >= LogFlush ? Math.Exp(v) : 0.0;
                }
            if (q.Input == CtcInput.LogProbs) m[t] = mx;
            else
            {
                double sum = 0;
                for (int c = 0; c < C; c++) sum += p[c];
                m[t] = -Math.Log(sum);
            }
        }
    }

    const int PrefetchAhead = 6;

    /// <summary>Prefetches the cache lines of a row of <paramref name="count"/> floats (x86 only; elsewhere a no-op).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Prefetch(float* row, int count)
    {
        if (!Sse.IsSupported) return;
        for (int i = 0; i < count; i += 16) Sse.Prefetch0(row + i);
        Sse.Prefetch0(row + count - 1);
    }

    static int PadFloats(int classes) => (classes + 15) & ~15;

    /// <summary>e[s + 2] = p(l'_s) * scale: the blank on even states, label (s-1)/2 on odd ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Gather(double* e, double* p, int* labels, int L, int blank, double scale)
    {
        double pb = p[blank] * scale;
        for (int i = 0; i < L; i++)
        {
            e[2 + 2 * i] = pb;
            e[3 + 2 * i] = p[labels[i]] * scale;
        }
        e[2 + 2 * L] = pb;
    }

    /// <summary>grad[c] = w (exp(lp[c]) - sum_{s: l'_s = c} prod[s] / Z) for one frame; exp(lp) = p_t(c) e^{m_t}.</summary>
    static void WriteGradRow(float* g, double* p, double m, double* prod, int* labels, int L, int blank, double invZ, double w, double* occ, int C)
    {
        new Span<double>(occ, C).Clear();
        // Blank states are every other one: summed in a register rather than through memory.
        double blankSum = prod[2 + 2 * L];
        for (int i = 0; i < L; i++)
        {
            blankSum += prod[2 + 2 * i];
            occ[labels[i]] += prod[3 + 2 * i];
        }
        occ[blank] += blankSum;
        double em = w * Math.Exp(m), wz = w * invZ;
        for (int c = 0; c < C; c++) g[c] = (float)(p[c] * em - occ[c] * wz);
    }

    static void FillRows(float* g, long stride, int classes, int from, int to, float value)
    {
        for (int t = from; t < to; t++) new Span<float>(g + t * stride, classes).Fill(value);
    }

    /// <summary>Per-thread scratch memory, one 64-byte aligned block grown on demand.</summary>
    sealed class CtcWorkspace : IDisposable
    {
        byte* _block;
        long _bytes;

        public double* Alpha, Probs, Shift, Scale, Emit, Skip, Beta0, Beta1, Product, Occupancy;
        public float* Floats;

        public void Ensure(int frames, int row, int classes)
        {
            static long Round(long doubles) => (doubles + 7) & ~7L;
            long cp = Round(classes);
            long need = (Round((long)frames * row) + Round((long)frames * classes) + 2 * Round(frames) + 5 * (long)row + cp) * sizeof(double)
                        + PadFloats(classes) * sizeof(float) + 64;
            if (need > _bytes)
            {
                Free();
                _block = (byte*)NativeMemory.AlignedAlloc((nuint)need, 64);
                _bytes = need;
            }
            double* q = (double*)_block;
            Alpha = q; q += Round((long)frames * row);
            Probs = q; q += Round((long)frames * classes);
            Shift = q; q += Round(frames);
            Scale = q; q += Round(frames);
            Emit = q; q += row;
            Skip = q; q += row;
            Beta0 = q; q += row;
            Beta1 = q; q += row;
            Product = q; q += row;
            Occupancy = q; q += cp;
            Floats = (float*)q;
        }

        void Free()
        {
            if (_block != null) NativeMemory.AlignedFree(_block);
            _block = null;
            _bytes = 0;
        }

        public void Dispose() => Free();
    }
}
