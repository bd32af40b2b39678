// Gradient-check cases of the CTC losses (src/Engine/Losses/Ctc.cs): every reduction, blank first
// and last, padded and concatenated targets, repeated labels, padding frames, an impossible
// sequence zeroed by zeroInfinity, and a non-contiguous (batch-major, transposed) input.
// ctc_loss is checked through log_softmax: its PyTorch gradient (exp(lp) - occupancy) is the true
// derivative only along the log-softmax manifold, which is how the loss is used.
using static Cochlea.Tests.Engine.GradCheck;

namespace Cochlea.Tests.Engine;

public static partial class GradCases
{
    // T = 6, B = 3, C = 5; sequence 1 is shorter (4 frames) and sequence 2 has an empty labelling.
    static readonly int[] CtcInputLengths = [6, 4, 6], CtcTargetLengths = [3, 2, 0];

    static Tensor CtcPadded() => Tensor.FromArray(new long[] { 1, 2, 2, 3, 1, 0, 0, 0, 0 }, 3, 3);

    static void CtcLossLogitsCases()
    {
        using var padded = CtcPadded();
        foreach (var red in new[] { "mean", "sum", "none" })
            Check(t => Loss.CtcFromLogits(t[0], padded, CtcInputLengths, CtcTargetLengths, 0, red), [Normal(Rng, 6, 3, 5)]);
        // Blank last, concatenated targets with a repeat: sequences "33", "1", "0".
        using var concat = Tensor.FromArray(new long[] { 3, 3, 1, 0 }, 4);
        Check(t => Loss.CtcFromLogits(t[0], concat, [6, 5, 3], [2, 1, 1], 4, "mean"), [Normal(Rng, 6, 3, 5)]);
        // Batch-major leaf viewed time-major: the gradient goes back through the transpose.
        Check(t => Loss.CtcFromLogits(t[0].Transpose(0, 1), padded, CtcInputLengths, CtcTargetLengths, 0, "sum"), [Normal(Rng, 3, 6, 5)]);
        // Sequence 1 cannot fit "2 2" (needs 3 frames) in 2: zeroInfinity makes its loss and gradient 0.
        using var lengths = Tensor.FromArray(new long[] { 6, 2, 6 }, 3);
        using var targetLengths = Tensor.FromArray(new long[] { 3, 2, 0 }, 3);
        using var rep = Tensor.FromArray(new long[] { 1, 2, 2, 2, 2, 0, 0, 0, 0 }, 3, 3);
        Check(t => Loss.CtcFromLogits(t[0], rep, lengths, targetLengths, 0, "none", zeroInfinity: true), [Normal(Rng, 6, 3, 5)]);
    }

    static void CtcLossCases()
    {
        using var padded = CtcPadded();
        foreach (var red in new[] { "mean", "sum", "none" })
            Check(t => Loss.CtcFromLogProbs(Ops.LogSoftmax(t[0], -1), padded, CtcInputLengths, CtcTargetLengths, 0, red), [Normal(Rng, 6, 3, 5)]);
        using var concat = Tensor.FromArray(new long[] { 2, 0, 0, 1 }, 4);
        Check(t => Loss.CtcFromLogProbs(Ops.LogSoftmax(t[0], 2), concat, [5, 6, 6], [1, 2, 1], 4, "sum"), [Normal(Rng, 6, 3, 5)]);
    }
}
