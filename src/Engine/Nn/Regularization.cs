// Dropout and pooling layers: thin modules over the ops, carrying their settings.
namespace Cochlea.Nn;

/// <summary>Inverted dropout with probability p in training, identity in eval. Masks come from a Philox stream.</summary>
public sealed class Dropout : Module
{
    /// <summary>Drop probability.</summary>
    public float P { get; }
    /// <summary>The random stream (share one per model; its offset is what a checkpoint must keep for bit-exact resume).</summary>
    public Philox Rng { get; }

    /// <summary>Dropout with probability <paramref name="p"/> drawing from <paramref name="rng"/> (a fresh stream seeded 0 if null).</summary>
    public Dropout(float p, Philox? rng = null)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout: p must be in [0, 1).");
        (P, Rng) = (p, rng ?? new Philox(0));
    }

    /// <summary>
    /// When set, inputs are a slice of a larger batch and get that batch's mask at their positions (data-parallel
    /// replicas then drop what one model on the whole batch drops; see <see cref="Ops.Dropout(Tensor, float, bool, Philox, BatchSlice?)"/>).
    /// </summary>
    public BatchSlice? Slice { get; set; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Dropout(x, P, IsTraining, Rng, Slice);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"p={P}";
}

/// <summary>Max pooling over the last axis of (N, C, L).</summary>
public sealed class MaxPool1d(int kernel, int? stride = null, int padding = 0) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.MaxPool1d(x, kernel, stride, padding);
}

/// <summary>Max pooling over the last two axes of (N, C, H, W).</summary>
public sealed class MaxPool2d((int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.MaxPool2d(x, kernel, stride, padding);
}

/// <summary>Average pooling over the last axis of (N, C, L).</summary>
public sealed class AvgPool1d(int kernel, int? stride = null, int padding = 0) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.AvgPool1d(x, kernel, stride, padding);
}

/// <summary>Average pooling over the last two axes of (N, C, H, W).</summary>
public sealed class AvgPool2d((int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.AvgPool2d(x, kernel, stride, padding);
}

/// <summary>Mean over all spatial axes: (N, C, ...) -> (N, C).</summary>
public sealed class GlobalAvgPool : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.GlobalAvgPool(x);
}
