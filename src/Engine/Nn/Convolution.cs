// Conv1d / Conv2d layers with torch.nn.Conv*d's parameter names, layouts and default init.
namespace Cochlea.Nn;

/// <summary>1-d convolution: x (N, Cin, L) -> (N, Cout, OL); weight (Cout, Cin/groups, K), bias (Cout).</summary>
public sealed class Conv1d : Module
{
    /// <summary>Weight (Cout, Cin/groups, K).</summary>
    public Tensor Weight { get; }
    /// <summary>Bias (Cout) or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>Stride.</summary>
    public int Stride { get; }
    /// <summary>Padding ('same', 'valid' or explicit).</summary>
    public ConvPadding Padding { get; }
    /// <summary>Dilation.</summary>
    public int Dilation { get; }
    /// <summary>Channel groups (groups == Cin is depthwise).</summary>
    public int Groups { get; }

    /// <summary>A Conv1d initialised like PyTorch's (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias).</summary>
    public Conv1d(int inChannels, int outChannels, int kernel, int stride = 1, ConvPadding padding = default, int dilation = 1, int groups = 1, bool bias = true, Random? rng = null)
    {
        ConvLayers.Validate("Conv1d", inChannels, outChannels, groups, [kernel], stride, dilation);
        (Stride, Padding, Dilation, Groups) = (stride, padding, dilation, groups);
        using (TensorScope.Suspend())
        {
            Weight = RegisterParameter("weight", Tensor.Empty(outChannels, inChannels / groups, kernel));
            if (bias) Bias = RegisterParameter("bias", Tensor.Empty(outChannels));
        }
        Init.PyTorchDefault(Weight, Bias, rng ?? new Random(0));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Conv1d(x, Weight, Bias, Stride, Padding, Dilation, Groups);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{Weight.Size(1) * Groups}, {Weight.Size(0)}, kernel_size=({Weight.Size(2)},), stride=({Stride},), groups={Groups}, bias={(Bias is null ? "False" : "True")}";
}

/// <summary>2-d convolution: x (N, Cin, H, W) -> (N, Cout, OH, OW); weight (Cout, Cin/groups, KH, KW), bias (Cout).</summary>
public sealed class Conv2d : Module
{
    /// <summary>Weight (Cout, Cin/groups, KH, KW).</summary>
    public Tensor Weight { get; }
    /// <summary>Bias (Cout) or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>Stride (H, W).</summary>
    public (int H, int W) Stride { get; }
    /// <summary>Padding ('same', 'valid' or explicit).</summary>
    public ConvPadding Padding { get; }
    /// <summary>Dilation (H, W).</summary>
    public (int H, int W) Dilation { get; }
    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>A Conv2d initialised like PyTorch's.</summary>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernel, (int H, int W)? stride = null, ConvPadding padding = default,
        (int H, int W)? dilation = null, int groups = 1, bool bias = true, Random? rng = null)
    {
        Stride = stride ?? (1, 1);
        Dilation = dilation ?? (1, 1);
        ConvLayers.Validate("Conv2d", inChannels, outChannels, groups, [kernel.H, kernel.W], Math.Min(Stride.H, Stride.W), Math.Min(Dilation.H, Dilation.W));
        (Padding, Groups) = (padding, groups);
        using (TensorScope.Suspend())
        {
            Weight = RegisterParameter("weight", Tensor.Empty(outChannels, inChannels / groups, kernel.H, kernel.W));
            if (bias) Bias = RegisterParameter("bias", Tensor.Empty(outChannels));
        }
        Init.PyTorchDefault(Weight, Bias, rng ?? new Random(0));
        _packed = RegisterCache(new Cochlea.Memory.PackedConvWeightCache());
    }

    // Eval mode: the weight packed as the GEMM's A once, until it changes (ConvBatchNorm's fused path reads it).
    readonly Cochlea.Memory.PackedConvWeightCache _packed;

    /// <summary>The packed weight cache (tests watch it being rebuilt and released).</summary>
    internal Cochlea.Memory.PackedConvWeightCache PackedWeight => _packed;

    /// <summary>The packed weight cache when this module uses its caches now (eval mode, caching on), else null.</summary>
    internal Cochlea.Memory.PackedConvWeightCache? EvalPackedWeight => UseDerivedCaches ? _packed : null;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Conv2d(x, Weight, Bias, Stride, Padding, Dilation, Groups);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{Weight.Size(1) * Groups}, {Weight.Size(0)}, kernel_size=({Weight.Size(2)}, {Weight.Size(3)}), stride=({Stride.H}, {Stride.W}), groups={Groups}, bias={(Bias is null ? "False" : "True")}";
}

static class ConvLayers
{
    public static void Validate(string layer, int cin, int cout, int groups, int[] kernel, int stride, int dilation)
    {
        if (cin < 1 || cout < 1) throw new ArgumentOutOfRangeException(nameof(cin), $"{layer}: channels must be >= 1, got in={cin}, out={cout}.");
        if (groups < 1 || cin % groups != 0 || cout % groups != 0)
            throw new ArgumentException($"{layer}: groups ({groups}) must divide in_channels ({cin}) and out_channels ({cout}).");
        if (kernel.Any(k => k < 1) || stride < 1 || dilation < 1)
            throw new ArgumentOutOfRangeException(nameof(kernel), $"{layer}: kernel, stride and dilation must be >= 1.");
    }
}
