// Parameter-free modules: activations, Flatten, Identity, and Lambda for any Tensor -> Tensor
// function. Each is one line of Forward; they exist so Sequential can hold them.
namespace Cochlea.Nn;

/// <summary>max(x, 0), any shape.</summary>
public sealed class Relu : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Relu(x);
}

/// <summary>min(max(x, 0), <see cref="Max"/>): the clipped ReLU of DeepSpeech (20); any shape.</summary>
public sealed class ReluClip(float max) : Module
{
    /// <summary>The clip value (positive).</summary>
    public float Max { get; } = max > 0 ? max : throw new ArgumentOutOfRangeException(nameof(max), max, "ReluClip: the clip value must be positive.");

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.ReluClip(x, Max);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"max={Max}";
}

/// <summary>1 / (1 + e^-x), any shape.</summary>
public sealed class Sigmoid : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Sigmoid(x);
}

/// <summary>tanh(x), any shape.</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Tanh(x);
}

/// <summary>Returns its input unchanged (a placeholder, e.g. for an optional layer).</summary>
public sealed class Identity : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => x;
}

/// <summary>
/// Flattens dims <see cref="StartDim"/>..<see cref="EndDim"/> into one, as torch.nn.Flatten (default start 1:
/// (N, C, H, W) -> (N, C*H*W)). A view when the input is contiguous.
/// </summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Module
{
    /// <summary>First flattened dimension.</summary>
    public int StartDim { get; } = startDim;

    /// <summary>Last flattened dimension (negative counts from the end).</summary>
    public int EndDim { get; } = endDim;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Flatten(StartDim, EndDim);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"start_dim={StartDim}, end_dim={EndDim}";
}

/// <summary>Wraps a function as a module (no parameters): <c>new Lambda(x => Ops.Clamp(x, -1, 1), "clamp")</c>.</summary>
public sealed class Lambda : Module
{
    readonly Func<Tensor, Tensor> _f;

    /// <summary>A module computing <paramref name="f"/>(x); <paramref name="name"/> is shown by ToString().</summary>
    public Lambda(Func<Tensor, Tensor> f, string name = "lambda")
    {
        _f = f ?? throw new ArgumentNullException(nameof(f));
        Name = name ?? throw new ArgumentNullException(nameof(name));
    }

    /// <summary>The name shown by ToString().</summary>
    public string Name { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => _f(x);

    /// <inheritdoc/>
    protected override string ExtraRepr() => Name;
}
