// BatchNorm1d / BatchNorm2d with torch's names (weight, bias, running_mean, running_var,
// num_batches_tracked), momentum semantics and defaults.
namespace Cochlea.Nn;

/// <summary>Batch normalisation over channel dim 1: (N, C) or (N, C, L) for 1-d, (N, C, H, W) for 2-d.</summary>
public class BatchNorm : Module
{
    /// <summary>Scale gamma (C).</summary>
    public Tensor Weight { get; }
    /// <summary>Shift beta (C).</summary>
    public Tensor Bias { get; }
    /// <summary>Running mean (C), a buffer.</summary>
    public Tensor RunningMean { get; }
    /// <summary>Running (unbiased) variance (C), a buffer.</summary>
    public Tensor RunningVar { get; }
    /// <summary>Training steps seen (int64 scalar buffer, as torch keeps it).</summary>
    public Tensor NumBatchesTracked { get; }
    /// <summary>eps added to the variance.</summary>
    public float Eps { get; }
    /// <summary>PyTorch momentum: running = (1 - m) * running + m * batch.</summary>
    public float Momentum { get; }
    readonly int[] _ranks;

    /// <summary>A batch norm over <paramref name="channels"/> channels (weight 1, bias 0, running mean 0, var 1).</summary>
    protected BatchNorm(int channels, float eps, float momentum, int[] ranks)
    {
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, "BatchNorm: channels must be >= 1.");
        if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "BatchNorm: momentum must be in [0, 1].");
        (Eps, Momentum, _ranks) = (eps, momentum, ranks);
        using (TensorScope.Suspend())
        {
            Weight = RegisterParameter("weight", Tensor.Ones(channels));
            Bias = RegisterParameter("bias", Tensor.Zeros(channels));
            RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(channels));
            RunningVar = RegisterBuffer("running_var", Tensor.Ones(channels));
            NumBatchesTracked = RegisterBuffer("num_batches_tracked", Tensor.FromArray(new long[] { 0 }, []));
        }
        _folded = RegisterCache(new Cochlea.Memory.FoldedBatchNormCache(eps));
    }

    // Eval mode: s = gamma / sqrt(var + eps), t = beta - mean * s kept until a source changes (ConvBatchNorm's fused path).
    readonly Cochlea.Memory.FoldedBatchNormCache _folded;

    /// <summary>The folded scale/shift cache (tests watch it being rebuilt and released).</summary>
    internal Cochlea.Memory.FoldedBatchNormCache FoldedScaleShift => _folded;

    /// <summary>The folded scale/shift cache when this module uses its caches now (eval mode, caching on), else null.</summary>
    internal Cochlea.Memory.FoldedBatchNormCache? EvalFolded => UseDerivedCaches ? _folded : null;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        if (Array.IndexOf(_ranks, x.Rank) < 0)
            throw new ArgumentException($"{GetType().Name}: expected input of rank {string.Join(" or ", _ranks)}, got {x.Describe()}.");
        CountTrainingBatch();
        return Ops.BatchNorm(x, Weight, Bias, RunningMean, RunningVar, IsTraining, Momentum, Eps);
    }

    // num_batches_tracked += 1 in training, on the buffer's device (a kernel on CUDA: no sync per step).
    unsafe void CountTrainingBatch()
    {
        if (!IsTraining) return;
        if (NumBatchesTracked.Device.IsCpu) ((long*)NumBatchesTracked.RawPtr)[0]++;
        else Cuda.CudaTensorKernels.AddInPlace(NumBatchesTracked, 1);
    }

    /// <summary>
    /// relu(this(conv1d(conv1d(x, dwWeight, stride, padding, groups: C), pwWeight))) for bias-free depthwise (C, 1, K) and
    /// 1x1 (Cout, C, 1) weights: the same as the four modules in a row, fused in training (<see cref="Ops.SeparableConv1dBatchNormRelu"/>).
    /// </summary>
    public Tensor SeparableConvRelu(Tensor x, Tensor dwWeight, int stride, ConvPadding padding, Tensor pwWeight)
    {
        if (Array.IndexOf(_ranks, 3) < 0) throw new InvalidOperationException($"{GetType().Name}: a separable conv1d block needs a 1-d batch norm.");
        CountTrainingBatch();
        return Ops.SeparableConv1dBatchNormRelu(x, dwWeight, stride, padding, pwWeight, Weight, Bias, RunningMean, RunningVar, IsTraining, Momentum, Eps);
    }

    /// <summary>
    /// relu(this(conv.Forward(x))) for a bias-free, stride-1, ungrouped, undilated <see cref="Nn.Conv2d"/>: the same as the three
    /// modules in a row (running statistics and num_batches_tracked included), fused in CPU training (<see cref="Ops.Conv2dBatchNormRelu"/>).
    /// </summary>
    public Tensor Conv2dRelu(Tensor x, Conv2d conv)
    {
        ArgumentNullException.ThrowIfNull(conv);
        if (Array.IndexOf(_ranks, 4) < 0) throw new InvalidOperationException($"{GetType().Name}: a conv2d block needs a 2-d batch norm.");
        if (conv.Bias is not null || conv.Groups != 1 || conv.Stride != (1, 1) || conv.Dilation != (1, 1))
            throw new ArgumentException($"{GetType().Name}.Conv2dRelu: expected a bias-free, stride-1, ungrouped, undilated conv, got {conv}; use the modules one by one.");
        CountTrainingBatch();
        return Ops.Conv2dBatchNormRelu(x, conv.Weight, conv.Padding, Weight, Bias, RunningMean, RunningVar, IsTraining, Momentum, Eps);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{Weight.Size(0)}, eps={Eps}, momentum={Momentum}";
}

/// <summary>BatchNorm over (N, C) or (N, C, L).</summary>
public sealed class BatchNorm1d(int channels, float eps = 1e-5f, float momentum = 0.1f) : BatchNorm(channels, eps, momentum, [2, 3]);

/// <summary>BatchNorm over (N, C, H, W).</summary>
public sealed class BatchNorm2d(int channels, float eps = 1e-5f, float momentum = 0.1f) : BatchNorm(channels, eps, momentum, [4]);
