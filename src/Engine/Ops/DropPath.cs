// Stochastic depth ("drop path", torchvision.ops.stochastic_depth mode "row"): in training each
// sample's residual branch is zeroed with probability p and the kept ones scaled by 1/(1-p), so
// evaluation is the identity. The per-sample keep decisions come from a Philox stream (as Dropout),
// so a seeded run, and a resumed one, drops the same samples.
using Cochlea.Autograd;
using Cochlea.Kernels.Elementwise;

namespace Cochlea;

public static partial class Ops
{
    /// <summary>
    /// y[n, ...] = x[n, ...] * k[n] / (1 - p), k[n] ~ Bernoulli(1 - p), when <paramref name="training"/>; y = x otherwise.
    /// x (N, ...). One Philox draw per sample (kept when draw >= p).
    /// </summary>
    public static Tensor DropPath(Tensor x, float p, bool training, Philox rng)
    {
        RequireFloat(x, "drop_path");
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "drop_path: p must be in [0, 1).");
        if (x.Rank < 1) throw new ArgumentException($"drop_path: expected (N, ...), got {x.Describe()}.");
        if (!training || p == 0) return BackwardPass.Record(x.Alias(), "drop_path", [x], g => [g]);
        var keep = new bool[x.Size(0)];
        for (int n = 0; n < keep.Length; n++) keep[n] = rng.NextFloat() >= p;
        return DropPath(x, p, keep);
    }

    /// <summary>y[n, ...] = keep[n] ? x[n, ...] / (1 - p) : 0, with the keep decisions given (for tests and replay). x (N, ...).</summary>
    public static Tensor DropPath(Tensor x, float p, ReadOnlySpan<bool> keep)
    {
        RequireFloat(x, "drop_path");
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "drop_path: p must be in [0, 1).");
        if (x.Rank < 1 || keep.Length != x.Size(0)) throw new ArgumentException($"drop_path: expected (N, ...) with N = {keep.Length} keep flags, got {x.Describe()}.");
        var shape = new int[x.Rank];
        Array.Fill(shape, 1);
        shape[0] = keep.Length;
        var mask = Tensor.Empty(shape);
        var m = mask.AsSpan();
        float scale = 1f / (1f - p);
        for (int n = 0; n < keep.Length; n++) m[n] = keep[n] ? scale : 0f;
        if (!x.Device.IsCpu) { var onDevice = mask.To(x.Device); mask.Dispose(); mask = onDevice; }  // N floats: one small upload
        var y = BinaryRaw(new MulOp(), x, mask, "drop_path");
        return BackwardPass.Record(y, "drop_path", [x], g => [BinaryRaw(new MulOp(), g, mask, "drop_path")]);
    }
}
