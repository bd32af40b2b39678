// A conv weight (Cout, Cin, KH, KW) packed once as the GEMM's A operand (Cout, Cin*KH*KW) and reused until it
// changes: the eval-mode conv -> batch norm op (Ops.ConvBatchNormEval) runs one GEMM per image, and packing the
// weight for each of them read and wrote every weight again per image (ResNet50: 94 MB per batch-1 forward).
// The staleness rule is DerivedCache's (the storage's WriteVersion).
using Cochlea.Kernels.Gemm;

namespace Cochlea.Memory;

/// <summary>A float32 CPU conv weight (Cout, Cin, KH, KW) packed for <c>y = W (Cout, Cin*KH*KW) x cols</c> (<see cref="PackedGemmA"/>).</summary>
public sealed class PackedConvWeightCache : IDerivedCache
{
    readonly DerivedCache<PackedGemmA> _cache = new(Pack);

    /// <summary>How many times the weight was packed.</summary>
    public int Builds => _cache.Builds;

    /// <summary>True while a packed copy is held.</summary>
    public bool HasValue => _cache.HasValue;

    /// <summary>The packing of <paramref name="weight"/>'s current contents. Dispose the lease after the GEMMs.</summary>
    public DerivedCache<PackedGemmA>.Lease Acquire(Tensor weight)
    {
        if (weight.Rank != 4 || weight.DType != DType.Float32 || !weight.Device.IsCpu)
            throw new ArgumentException($"PackedConvWeightCache: expected a float32 CPU conv weight (Cout, Cin, KH, KW), got {weight.Describe()} on {weight.Device}.", nameof(weight));
        return _cache.Acquire(weight);
    }

    static unsafe PackedGemmA Pack(Tensor w)
    {
        using var c = w.ContiguousRaw();
        int m = w.Size(0), k = w.Size(1) * w.Size(2) * w.Size(3);
        return new PackedGemmA(m, k, c.DataPtr, Math.Max(k, 1));
    }

    /// <inheritdoc/>
    public void Clear() => _cache.Clear();

    /// <inheritdoc/>
    public void Dispose() => _cache.Dispose();
}
