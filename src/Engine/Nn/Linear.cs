// Fully connected layer with torch.nn.Linear's layout (weight (out, in), bias (out)),
// names and default initialisation. In eval mode the weight is packed for the GEMM once and reused.
using Cochlea.Memory;

namespace Cochlea.Nn;

/// <summary>y = x W^T + b. x (..., in) -> y (..., out); weight (out, in), bias (out).</summary>
public sealed class Linear : Module
{
    /// <summary>Weight, shape (out, in).</summary>
    public Tensor Weight { get; }

    /// <summary>Bias, shape (out), or null when built with bias: false.</summary>
    public Tensor? Bias { get; }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>
    /// A linear layer initialised as PyTorch does: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)).
    /// Pass the model's <paramref name="rng"/> so layers differ and the whole model is reproducible from one seed;
    /// without one, a generator seeded with 0 is used (reproducible, but equal-shaped layers start equal).
    /// </summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Random? rng = null)
    {
        if (inFeatures < 0 || outFeatures < 0) throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Linear: features must be >= 0, got in={inFeatures}, out={outFeatures}.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        rng ??= new Random(0);
        // Suspend: parameters must outlive any step scope the model happens to be built in.
        using (TensorScope.Suspend())
        {
            Weight = RegisterParameter("weight", Tensor.Empty(outFeatures, inFeatures));
            if (bias) Bias = RegisterParameter("bias", Tensor.Empty(outFeatures));
        }
        Init.PyTorchDefault(Weight, Bias, rng);
        _packed = RegisterCache(new PackedWeightCache(outputMajor: true));
    }

    // Eval mode: the weight packed for the GEMM once, until it changes (see PackedWeightCache).
    readonly PackedWeightCache _packed;

    /// <summary>The eval-mode packed weight (tests watch it being rebuilt and released).</summary>
    internal PackedWeightCache PackedWeight => _packed;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Linear(x, Weight, Bias, UseDerivedCaches ? _packed : null);

    /// <summary>relu(Forward(x)), or clipped at <paramref name="clip"/> (<see cref="Ops.LinearRelu"/>: fused in eval-mode inference).</summary>
    public Tensor ForwardRelu(Tensor x, float clip = float.PositiveInfinity) => Ops.LinearRelu(x, Weight, Bias, UseDerivedCaches ? _packed : null, clip);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"in_features={InFeatures}, out_features={OutFeatures}, bias={(Bias is null ? "False" : "True")}";
}
