// An eval-mode batch norm folded into one scale and shift per channel, s = gamma / sqrt(var + eps) and
// t = beta - mean * s, kept until gamma, beta or a running statistic changes (DerivedCache's rule over the four
// tensors: an optimizer step, a checkpoint load, a training-mode forward updating the statistics all move a version).
namespace Cochlea.Memory;

/// <summary>(2, C) float32: row 0 s, row 1 t, of a batch norm with <see cref="Eps"/> (see <see cref="Ops.FoldBatchNormEval"/>).</summary>
public sealed class FoldedBatchNormCache(float eps) : IDerivedCache
{
    readonly DerivedCache<Tensor> _cache = DerivedCache<Tensor>.OfSources(s => Build(s, eps));

    /// <summary>The batch norm's eps.</summary>
    public float Eps { get; } = eps;

    /// <summary>How many times s and t were computed.</summary>
    public int Builds => _cache.Builds;

    /// <summary>True while s and t are held.</summary>
    public bool HasValue => _cache.HasValue;

    /// <summary>s and t (2, C) for the current contents (gamma, beta null: 1, 0). Dispose the lease after use.</summary>
    public DerivedCache<Tensor>.Lease Acquire(Tensor? gamma, Tensor? beta, Tensor runningMean, Tensor runningVar)
    {
        ArgumentNullException.ThrowIfNull(runningMean);
        ArgumentNullException.ThrowIfNull(runningVar);
        return _cache.Acquire(gamma, beta, runningMean, runningVar);
    }

    // Outside any step scope: the value outlives the call that made it.
    static Tensor Build(ReadOnlySpan<Tensor?> s, float eps)
    {
        using (TensorScope.Suspend()) return Ops.FoldBatchNormEval(s[0], s[1], s[2]!, s[3]!, eps);
    }

    /// <inheritdoc/>
    public void Clear() => _cache.Clear();

    /// <inheritdoc/>
    public void Dispose() => _cache.Dispose();
}
