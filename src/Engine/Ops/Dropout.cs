// Inverted dropout: in training each element is zeroed with probability p and the survivors
// scaled by 1/(1-p), so evaluation is the identity. The mask comes from a Philox stream, so a
// seeded run (and a resumed one) drops the same elements.
using Cochlea.Autograd;

namespace Cochlea;

public static unsafe partial class Ops
{
    /// <summary>y = x * m / (1 - p), m ~ Bernoulli(1 - p), when <paramref name="training"/>; y = x otherwise.</summary>
    public static Tensor Dropout(Tensor x, float p, bool training, Philox rng)
    {
        RequireFloat(x, "dropout");
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout: p must be in [0, 1).");
        // Identity, but still recorded: a bare Alias() is Detach() and would silently cut every gradient upstream
        // of a dropout in eval mode or with p = 0 (found by the WaveKws golden test: train-mode BN with dropout off).
        if (!training || p == 0) return BackwardPass.Record(x.Alias(), "dropout", [x], g => [g]);
        x.Device.RequireCpu("dropout");
        var mask = Tensor.Empty(x.ShapeArray);
        float scale = 1f / (1f - p);
        FillDropoutMask(rng, mask.AsSpan(), p, scale);   // = rng.NextFloat() >= p ? scale : 0 per element, in parallel
        var y = BinaryRaw(new Kernels.Elementwise.MulOp(), x, mask, "dropout");
        return BackwardPass.Record(y, "dropout", [x], g => [BinaryRaw(new Kernels.Elementwise.MulOp(), g, mask, "dropout")]);
    }
}
