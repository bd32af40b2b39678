// A weight matrix packed once into the GEMM micro-kernel's panel order (PackedGemmB) and reused until the
// weight changes: eval-mode Linear layers and recurrent kernels at batch 1, where repacking the weights on
// every call read them, wrote a packed copy and read that again (DeepSpeechKws: ~46 MB per inference,
// ~30 % of its CPU time). The staleness rule is DerivedCache's (the storage's WriteVersion).
using Cochlea.Kernels.Gemm;

namespace Cochlea.Memory;

/// <summary>
/// A float32 CPU weight packed for <c>y = x op(W)</c>: stored (out, in) as torch.nn.Linear (op(W) = W^T,
/// <paramref name="outputMajor"/> true) or (in, out) as matmul's right operand (false).
/// </summary>
public sealed class PackedWeightCache(bool outputMajor) : IDerivedCache
{
    readonly DerivedCache<PackedGemmB> _cache = new(w => Pack(w, outputMajor));

    /// <summary>True for weights stored (out, in) (Linear's layout), false for (in, out).</summary>
    public bool OutputMajor { get; } = outputMajor;

    /// <summary>How many times the weight was packed.</summary>
    public int Builds => _cache.Builds;

    /// <summary>True while a packed copy is held.</summary>
    public bool HasValue => _cache.HasValue;

    /// <summary>The packing of <paramref name="weight"/>'s current contents (K = in, N = out). Dispose the lease after the GEMM.</summary>
    public DerivedCache<PackedGemmB>.Lease Acquire(Tensor weight)
    {
        if (weight.Rank != 2 || weight.DType != DType.Float32 || !weight.Device.IsCpu)
            throw new ArgumentException($"PackedWeightCache: expected a float32 CPU matrix ({(OutputMajor ? "out, in" : "in, out")}), got {weight.Describe()} on {weight.Device}.", nameof(weight));
        return _cache.Acquire(weight);
    }

    static unsafe PackedGemmB Pack(Tensor w, bool outputMajor)
    {
        using var c = w.ContiguousRaw();
        int rows = w.Size(0), cols = w.Size(1);
        return outputMajor ? new PackedGemmB(true, cols, rows, c.DataPtr, Math.Max(cols, 1)) : new PackedGemmB(false, rows, cols, c.DataPtr, Math.Max(cols, 1));
    }

    /// <inheritdoc/>
    public void Clear() => _cache.Clear();

    /// <inheritdoc/>
    public void Dispose() => _cache.Dispose();
}
