// Scalar reference of the CTC loss (Graves et al. 2006) for one sequence: the textbook alpha-beta
// recursion in log space and double precision, written for clarity, not speed. The optimised kernel
// (CtcKernels) is tested against it, and falls back to it for the rare sequences whose scaled
// linear-domain recursion cannot guarantee full accuracy (see CtcKernels).
//   log-probs lp (T, C) with row stride `stride` (time-major batches: stride = B*C),
//   labels l (L), extended labels l' = (blank, l1, blank, l2, ..., lL, blank) of length S = 2L + 1.
namespace Cochlea.Kernels.Ctc;

/// <summary>Straightforward log-space CTC forward-backward for one sequence (the reference).</summary>
public static unsafe class CtcReference
{
    /// <summary>
    /// Negative log-likelihood <c>-log p(l | x) = -log sum over alignments a with B(a) = l of prod_t exp(lp[t, a_t])</c>
    /// of labels <paramref name="labels"/> given log-probabilities <paramref name="logProbs"/>, by
    /// <c>alpha_t(s) = lse(alpha_{t-1}(s), alpha_{t-1}(s-1), [l'_s != blank and l'_s != l'_{s-2}] alpha_{t-1}(s-2)) + lp[t, l'_s]</c>
    /// and the mirrored beta (both including frame t's emission); <c>log p = lse(alpha_{T-1}(S-1), alpha_{T-1}(S-2))</c>.
    /// <para>When <paramref name="grad"/> is not null and the loss is finite, writes PyTorch's gradient of the loss
    /// with respect to the log-probabilities of frames <c>t &lt; T</c>:
    /// <c>grad[t, c] = exp(lp[t, c]) - sum_{s: l'_s = c} exp(alpha_t(s) + beta_t(s) - lp[t, c] - log p)</c>,
    /// which is also the gradient with respect to the logits when lp = log_softmax(logits).
    /// An impossible labelling (log p = -inf) returns +inf and leaves <paramref name="grad"/> untouched.</para>
    /// </summary>
    /// <param name="logProbs">lp, T rows of C floats, row t at <c>logProbs + t * stride</c>.</param>
    /// <param name="stride">Distance in floats between consecutive frames (B*C for a (T, B, C) batch).</param>
    /// <param name="classes">C, including the blank.</param>
    /// <param name="frames">T &gt;= 0, the sequence's input length.</param>
    /// <param name="labels">L labels in [0, C), none equal to the blank.</param>
    /// <param name="labelCount">L &gt;= 0.</param>
    /// <param name="blank">The blank's class index.</param>
    /// <param name="grad">Null, or T rows of C floats with row stride <paramref name="gradStride"/>.</param>
    /// <param name="gradStride">Row stride of <paramref name="grad"/>.</param>
    public static double Sequence(float* logProbs, long stride, int classes, int frames, int* labels, int labelCount,
        int blank, float* grad = null, long gradStride = 0)
    {
        int T = frames, S = 2 * labelCount + 1;
        if (T == 0) return labelCount == 0 ? 0.0 : double.PositiveInfinity;
        int[] ext = new int[S];
        for (int s = 0; s < S; s++) ext[s] = (s & 1) == 0 ? blank : labels[s >> 1];
        double Lp(int t, int s) => logProbs[t * stride + ext[s]];
        // The s-2 skip: only into a label, and never between two identical labels (they need a blank between).
        bool Skip(int s) => s >= 2 && (s & 1) == 1 && ext[s] != ext[s - 2];

        var alpha = new double[T, S];
        var beta = new double[T, S];
        for (int t = 0; t < T; t++)
            for (int s = 0; s < S; s++) alpha[t, s] = beta[t, s] = double.NegativeInfinity;

        alpha[0, 0] = Lp(0, 0);
        if (S > 1) alpha[0, 1] = Lp(0, 1);
        for (int t = 1; t < T; t++)
            for (int s = 0; s < S; s++)
            {
                double a = alpha[t - 1, s];
                if (s >= 1) a = LogAdd(a, alpha[t - 1, s - 1]);
                if (Skip(s)) a = LogAdd(a, alpha[t - 1, s - 2]);
                alpha[t, s] = a + Lp(t, s);
            }
        double logP = S > 1 ? LogAdd(alpha[T - 1, S - 1], alpha[T - 1, S - 2]) : alpha[T - 1, S - 1];
        if (double.IsNaN(logP)) return double.NaN;
        if (double.IsNegativeInfinity(logP)) return double.PositiveInfinity;
        if (grad == null) return -logP;

        beta[T - 1, S - 1] = Lp(T - 1, S - 1);
        if (S > 1) beta[T - 1, S - 2] = Lp(T - 1, S - 2);
        for (int t = T - 2; t >= 0; t--)
            for (int s = 0; s < S; s++)
            {
                double b = beta[t + 1, s];
                if (s + 1 < S) b = LogAdd(b, beta[t + 1, s + 1]);
                if (s + 2 < S && Skip(s + 2)) b = LogAdd(b, beta[t + 1, s + 2]);
                beta[t, s] = b + Lp(t, s);
            }

        // Occupancy of class c at frame t: sum of alpha*beta over the extended positions carrying c,
        // divided once by the emission both include and by p.
        var occ = new double[classes];
        for (int t = 0; t < T; t++)
        {
            Array.Clear(occ);
            for (int s = 0; s < S; s++)
            {
                double ab = alpha[t, s] + beta[t, s];
                if (double.IsNegativeInfinity(ab)) continue;   // also covers lp = -inf (no -inf - -inf = NaN)
                occ[ext[s]] += Math.Exp(ab - Lp(t, s) - logP);
            }
            float* lpRow = logProbs + t * stride, gRow = grad + t * gradStride;
            for (int c = 0; c < classes; c++) gRow[c] = (float)(Math.Exp(lpRow[c]) - occ[c]);
        }
        return -logP;
    }

    /// <summary>log(e^a + e^b) with max subtraction; -inf + -inf = -inf.</summary>
    public static double LogAdd(double a, double b)
    {
        if (a < b) (a, b) = (b, a);
        if (double.IsNegativeInfinity(a)) return a;
        return a + Math.Log(1.0 + Math.Exp(b - a));
    }
}
