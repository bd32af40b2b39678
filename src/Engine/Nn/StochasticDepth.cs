// Layers of the tagging backbones that PyTorch ships as modules: SiLU (torch.nn.SiLU) and stochastic
// depth (torchvision.ops.StochasticDepth, mode "row"). Neither holds tensors, so state_dicts are unchanged.
namespace Cochlea.Nn;

/// <summary>x * sigmoid(x), as torch.nn.SiLU.</summary>
public sealed class Silu : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Silu(x);
}

/// <summary>Stochastic depth in "row" mode: in training each sample is zeroed with probability p, the rest scaled by 1/(1-p).</summary>
public sealed class StochasticDepth : Module
{
    /// <summary>Drop probability.</summary>
    public float P { get; }
    /// <summary>The random stream (shared per model, as Dropout's).</summary>
    public Philox Rng { get; }

    /// <summary>Stochastic depth with probability <paramref name="p"/> drawing from <paramref name="rng"/> (a fresh stream seeded 0 if null).</summary>
    public StochasticDepth(float p, Philox? rng = null)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "StochasticDepth: p must be in [0, 1).");
        (P, Rng) = (p, rng ?? new Philox(0));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.DropPath(x, P, IsTraining, Rng);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"p={P}, mode=row";
}
