// Gradient-check cases of the fused losses (src/Engine/Losses/Loss.cs): every reduction,
// label smoothing, spatial cross-entropy, and the targets' gradients where a loss gives them.
using static Cochlea.Tests.Engine.GradCheck;

namespace Cochlea.Tests.Engine;

public static partial class GradCases
{
    static void CrossEntropyCases()
    {
        using var labels = Tensor.FromArray(new long[] { 0, 4, 2, 4 }, 4);
        foreach (var ls in new[] { 0f, 0.1f })
            foreach (var red in new[] { "mean", "sum", "none" })
                Check(t => Loss.CrossEntropy(t[0], labels, ls, red), [Normal(Rng, 4, 5)]);
        // Spatial: logits (B, C, T) with labels (B, T).
        using var spatial = Tensor.FromArray(new long[] { 0, 2, 1, 1, 0, 2 }, 2, 3);
        Check(t => Loss.CrossEntropy(t[0], spatial, 0.2f), [Normal(Rng, 2, 3, 3)]);
        Check(t => Loss.CrossEntropy(t[0], spatial, 0f, "none"), [Normal(Rng, 2, 3, 3)]);
        // Soft targets (not normalised on purpose: the general gradient p * sum(q) - q), with their own gradient.
        Check(t => Loss.CrossEntropy(t[0], t[1], 0.1f), [Normal(Rng, 3, 6), Leaf(Rng, 0.05f, 0.6f, 3, 6)]);
        Check(t => Loss.CrossEntropy(t[0], t[1], 0f, "none"), [Normal(Rng, 2, 4, 3), Leaf(Rng, 0.05f, 0.6f, 2, 4, 3)]);
    }

    static void BceWithLogitsCases()
    {
        // Targets kept 0.05 inside [0, 1] so the +-eps probes stay valid targets.
        foreach (var red in new[] { "mean", "sum", "none" })
            Check(t => Loss.BinaryCrossEntropyWithLogits(t[0], t[1], 0.2f, red), [Normal(Rng, 3, 5), Leaf(Rng, 0.05f, 0.95f, 3, 5)]);
        Check(t => Loss.BinaryCrossEntropyWithLogits(t[0], t[1]), [Normal(Rng, 7), Leaf(Rng, 0.05f, 0.95f, 7)]);
    }

    static void MseCases()
    {
        foreach (var red in new[] { "mean", "sum", "none" })
            Check(t => Loss.Mse(t[0], t[1], red), [Normal(Rng, 3, 5), Normal(Rng, 3, 5)]);
        Check(t => Loss.Mse(t[0].Transpose(0, 1), t[1]), [Normal(Rng, 4, 3), Normal(Rng, 3, 4)]);
    }

    static void KlDivDistillCases()
    {
        // The teacher is a constant input (no RequiresGrad): the loss gives it no gradient by design.
        using var teacher = Tensor.Randn(Rng, 2f, 4, 6);
        foreach (var temp in new[] { 1f, 3f })
            Check(t => Loss.KlDivDistill(t[0], teacher, temp), [Normal(Rng, 4, 6)]);
        using var probs = Tensor.FromArray([0.7f, 0.2f, 0.1f, 0f, 0.25f, 0.25f, 0.25f, 0.25f], 2, 4);
        Check(t => Loss.KlDivDistillFromProbs(t[0], probs, 2f), [Normal(Rng, 2, 4)]);
    }
}
