// Connectionist temporal classification losses (Graves et al. 2006), two entry points on one core:
//   CtcFromLogProbs - PyTorch's F.ctc_loss: log-probabilities in, PyTorch's gradient formula out;
//   CtcFromLogits   - TensorFlow's ctc_loss: unnormalised logits in, log_softmax inside, fused.
// Both are ONE recorded op whose forward runs the CTC kernel (src/Kernels/Ctc), which writes the
// gradient of the reduced loss for a unit upstream gradient in the same pass (the reduction's
// per-sequence weights folded in); backward only scales it by the upstream gradient, in place.
// The gradient is never autograd through the alpha-beta recursion, and the logits form never
// materialises log_softmax: the kernel normalises each frame as it builds its emission table.
// Why both share the kernel's exp(lp) - occupancy: with lp = log_softmax(z) that is exactly
// softmax(z) - occupancy = d loss / d z, the fused logits gradient; and it is what PyTorch returns
// as the log-probs gradient (not the "true" partial -occupancy, which differs by exp(lp) but gives
// the same logits gradient after log_softmax's backward, since occupancies sum to 1 per frame).
using Cochlea.Autograd;
using Cochlea.Kernels;
using Cochlea.Kernels.Ctc;
using Cochlea.Kernels.Elementwise;

namespace Cochlea;

public static unsafe partial class Loss
{
    /// <summary>
    /// CTC loss on log-probabilities, as <c>torch.nn.functional.ctc_loss</c>. For sequence b with input length T_b and
    /// labels l (length L_b): <c>loss_b = -log sum_{a: B(a) = l} prod_{t &lt; T_b} exp(lp[t, b, a_t])</c>, where B merges
    /// repeats then drops blanks (so equal neighbours in l need a blank between them).
    /// <para>Reduction "none" returns the B losses; "sum" their sum; "mean" PyTorch's
    /// <c>mean_b(loss_b / max(L_b, 1))</c>. Impossible labellings (T_b too short, not an error) give +inf and a NaN
    /// gradient, as PyTorch; <paramref name="zeroInfinity"/> makes both 0.</para>
    /// <para>Gradient (PyTorch's): <c>d loss_b / d lp[t, b, c] = exp(lp[t, b, c]) - sum_{s: l'_s = c} gamma_t(s)</c> for
    /// <c>t &lt; T_b</c> (0 after), gamma being the posterior occupancy of extended-label state s at frame t. It is the
    /// exact gradient of the logits when lp = log_softmax(logits), which is how the loss is meant to be used.</para>
    /// </summary>
    /// <param name="logProbs">float32 (T, B, C) log-probabilities, time-major (log_softmax output).</param>
    /// <param name="targets">int64/int32 labels: padded (B, S) with S &gt;= max L_b (entries past L_b ignored), or
    /// concatenated (sum_b L_b). Labels in [0, C), never the blank.</param>
    /// <param name="inputLengths">int64/int32 (B): T_b in [0, T].</param>
    /// <param name="targetLengths">int64/int32 (B): L_b &gt;= 0.</param>
    /// <param name="blank">Blank class in [0, C): 0 (PyTorch's default) or C - 1 (TensorFlow's).</param>
    /// <param name="reduction">"mean", "sum" or "none".</param>
    /// <param name="zeroInfinity">Replace infinite losses (and their gradients) by 0.</param>
    public static Tensor CtcFromLogProbs(Tensor logProbs, Tensor targets, Tensor inputLengths, Tensor targetLengths,
        int blank = 0, string reduction = "mean", bool zeroInfinity = false) =>
        CtcCore(logProbs, false, targets, LengthsOf(inputLengths, "ctc_loss", "inputLengths"), LengthsOf(targetLengths, "ctc_loss", "targetLengths"), blank, reduction, zeroInfinity);

    /// <inheritdoc cref="CtcFromLogProbs(Tensor, Tensor, Tensor, Tensor, int, string, bool)"/>
    public static Tensor CtcFromLogProbs(Tensor logProbs, Tensor targets, int[] inputLengths, int[] targetLengths,
        int blank = 0, string reduction = "mean", bool zeroInfinity = false) =>
        CtcCore(logProbs, false, targets, inputLengths, targetLengths, blank, reduction, zeroInfinity);

    /// <summary>
    /// CTC loss on unnormalised logits with the log-softmax inside, as TensorFlow's <c>tf.nn.ctc_loss</c>; equal to
    /// <c>CtcFromLogProbs(log_softmax(logits, -1), ...)</c> (same reductions and infinity handling), computed as one
    /// fused op. Gradient: <c>d loss_b / d logits[t, b, c] = softmax(logits)[t, b, c] - sum_{s: l'_s = c} gamma_t(s)</c>
    /// for <c>t &lt; T_b</c>, 0 for padding frames.
    /// </summary>
    /// <param name="logits">float32 (T, B, C) unnormalised scores, time-major.</param>
    /// <param name="targets">int64/int32 labels, padded (B, S) or concatenated (sum_b L_b).</param>
    /// <param name="inputLengths">int64/int32 (B): T_b in [0, T].</param>
    /// <param name="targetLengths">int64/int32 (B): L_b &gt;= 0.</param>
    /// <param name="blank">Blank class in [0, C).</param>
    /// <param name="reduction">"mean" (PyTorch's: each loss divided by its target length, then averaged), "sum" or "none".</param>
    /// <param name="zeroInfinity">Replace infinite losses (and their gradients) by 0.</param>
    public static Tensor CtcFromLogits(Tensor logits, Tensor targets, Tensor inputLengths, Tensor targetLengths,
        int blank = 0, string reduction = "mean", bool zeroInfinity = false) =>
        CtcCore(logits, true, targets, LengthsOf(inputLengths, "ctc_loss_logits", "inputLengths"), LengthsOf(targetLengths, "ctc_loss_logits", "targetLengths"), blank, reduction, zeroInfinity);

    /// <inheritdoc cref="CtcFromLogits(Tensor, Tensor, Tensor, Tensor, int, string, bool)"/>
    public static Tensor CtcFromLogits(Tensor logits, Tensor targets, int[] inputLengths, int[] targetLengths,
        int blank = 0, string reduction = "mean", bool zeroInfinity = false) =>
        CtcCore(logits, true, targets, inputLengths, targetLengths, blank, reduction, zeroInfinity);

    static int[] LengthsOf(Tensor lengths, string op, string name)
    {
        ArgumentNullException.ThrowIfNull(lengths, name);
        if (lengths.DType is not (DType.Int64 or DType.Int32) || lengths.Rank != 1)
            throw new ArgumentException($"{op}: {name} must be a 1-d int64 or int32 tensor (B,), got {lengths.Describe()}.", name);
        return lengths.ToInt64Array().Select(v => v is < int.MinValue or > int.MaxValue ? throw new ArgumentOutOfRangeException(name, v, $"{op}: {name} value {v} is out of range.") : (int)v).ToArray();
    }

    static Tensor CtcCore(Tensor x, bool fromLogits, Tensor targets, int[] inputLengths, int[] targetLengths,
        int blank, string reduction, bool zeroInfinity)
    {
        string op = fromLogits ? "ctc_loss_logits" : "ctc_loss";
        string what = fromLogits ? "logits" : "log-probs";
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(inputLengths);
        ArgumentNullException.ThrowIfNull(targetLengths);
        var red = ParseReduction(reduction, op);
        if (x.DType != DType.Float32 || x.Rank != 3)
            throw new ArgumentException($"{op}: {what} must be float32 (T, B, C), time-major, got {x.Describe()}.", nameof(x));
        x.Device.RequireCpu(op);
        int T = x.Shape[0], B = x.Shape[1], C = x.Shape[2];
        if (C < 1) throw new ArgumentException($"{op}: {what} {x.Describe()} have no classes (C = 0).", nameof(x));
        if ((uint)blank >= (uint)C)
            throw new ArgumentOutOfRangeException(nameof(blank), blank, $"{op}: blank must be a class index in [0, {C}) for {what} {x.Describe()}.");
        if (inputLengths.Length != B || targetLengths.Length != B)
            throw new ArgumentException($"{op}: expected {B} input lengths and {B} target lengths (B of {x.Describe()}), got {inputLengths.Length} and {targetLengths.Length}.");
        for (int b = 0; b < B; b++)
        {
            if (inputLengths[b] > T)
                throw new ArgumentOutOfRangeException(nameof(inputLengths), inputLengths[b], $"{op}: input length {inputLengths[b]} of sequence {b} exceeds T = {T}, the first dimension of {what} {x.Describe()}.");
            if (inputLengths[b] < 0)
                throw new ArgumentOutOfRangeException(nameof(inputLengths), inputLengths[b], $"{op}: input length {inputLengths[b]} of sequence {b} is negative.");
            if (targetLengths[b] < 0)
                throw new ArgumentOutOfRangeException(nameof(targetLengths), targetLengths[b], $"{op}: target length {targetLengths[b]} of sequence {b} is negative.");
        }

        // Targets: padded (B, S) -> offsets b*S; concatenated (sum L_b) -> prefix sums. Both as PyTorch.
        if (targets.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"{op}: targets must be int64 or int32 class labels, padded (B, S) or concatenated (sum of target lengths), got {targets.Describe()}.", nameof(targets));
        var offsets = new int[B];
        if (targets.Rank == 2)
        {
            if (targets.Shape[0] != B)
                throw new ArgumentException($"{op}: padded targets must be (B = {B}, S), got {targets.Describe()}.", nameof(targets));
            int width = targets.Shape[1];
            for (int b = 0; b < B; b++)
            {
                if (targetLengths[b] > width)
                    throw new ArgumentOutOfRangeException(nameof(targetLengths), targetLengths[b], $"{op}: target length {targetLengths[b]} of sequence {b} exceeds the padded targets' width S = {width} ({targets.Describe()}).");
                offsets[b] = b * width;
            }
        }
        else if (targets.Rank == 1)
        {
            long total = 0;
            for (int b = 0; b < B; b++) { offsets[b] = (int)Math.Min(total, int.MaxValue); total += targetLengths[b]; }
            if (total != targets.Numel)
                throw new ArgumentException($"{op}: concatenated targets must hold sum(targetLengths) = {total} labels, got {targets.Describe()}.", nameof(targets));
        }
        else throw new ArgumentException($"{op}: targets must be padded (B, S) or concatenated (sum of target lengths), got {targets.Describe()}.", nameof(targets));
        var all = targets.ToInt64Array();
        var labels = new int[all.Length];
        for (int b = 0; b < B; b++)
            for (int i = 0; i < targetLengths[b]; i++)
            {
                long v = all[offsets[b] + i];
                if (v < 0 || v >= C)
                    throw new ArgumentOutOfRangeException(nameof(targets), v, $"{op}: label {v} at position {i} of sequence {b} is out of range for C = {C} classes (expected 0 <= label < {C}).");
                if (v == blank)
                    throw new ArgumentException($"{op}: label at position {i} of sequence {b} is the blank ({blank}); targets must not contain the blank.", nameof(targets));
                labels[offsets[b] + i] = (int)v;
            }

        bool needGrad = NoGradScope.IsGradEnabled && x.RequiresGrad;
        // The reduction's weight of each sequence, folded into the kernel's gradient: loss = sum_b w_b loss_b
        // for "sum" and "mean" (PyTorch's 1 / (B max(L_b, 1))); "none" keeps each sequence's own gradient.
        var weight = new double[B];
        for (int b = 0; b < B; b++)
            weight[b] = red == Reduction.Mean ? 1.0 / ((double)B * Math.Max(targetLengths[b], 1)) : 1.0;
        using var xc = x.ContiguousRaw();
        var unit = needGrad ? Tensor.Empty(T, B, C) : null;   // d loss / d x for a unit upstream gradient
        var nll = new double[B];
        fixed (int* pl = labels)
            CtcKernels.Batch(xc.DataPtr, fromLogits ? CtcInput.Logits : CtcInput.LogProbs, T, B, C, inputLengths, pl, offsets,
                targetLengths, blank, zeroInfinity, nll, unit is null ? null : unit.DataPtr, weight, Simd.Best);

        Tensor result;
        if (red == Reduction.None) result = Tensor.FromArray(nll.Select(v => (float)v).ToArray(), B);
        else
        {
            double total = 0;
            for (int b = 0; b < B; b++) total += weight[b] * nll[b];
            result = Tensor.Scalar(B == 0 && red == Reduction.Mean ? float.NaN : (float)total);
        }

        return BackwardPass.Record(result, op, [x], g =>
        {
            // The unit gradient is this op's own buffer: scaled in place and handed over (no copy), and for the
            // usual loss.Backward() (upstream gradient exactly 1) handed over as is.
            using var gc = g.ContiguousRaw();
            float* pg = gc.DataPtr, pu = unit!.DataPtr;
            if (red != Reduction.None)
            {
                if (pg[0] != 1f) ElementwiseLoops.Unary(new ScaleOp(pg[0]), pu, pu, unit.Numel);
                return [unit];
            }
            for (int t = 0; t < T; t++)
                for (int b = 0; b < B; b++)
                {
                    long o = ((long)t * B + b) * C;
                    ElementwiseLoops.Unary(new ScaleOp(pg[b]), pu + o, pu + o, C);
                }
            return [unit];
        });
    }
}
