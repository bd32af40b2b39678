// Per-bin mean / standard deviation of features over a dataset (e.g. the DeepSpeechKws log spectrogram
// normalisation computed on the training set): streaming, in double, batch by batch with Chan et al.'s
// pairwise update (numerically stable, deterministic for a given order of batches), saved to and loaded
// from safetensors so training and inference (and the Pi runtime via FeatureNorm) share the numbers.
using Cochlea.IO;
using Cochlea.Kernels.Audio;

namespace Cochlea.Models.Audio;

/// <summary>
/// Streaming per-bin statistics of feature rows: count n, mean_j, M2_j = sum (x - mean_j)^2; variance_j = M2_j / n
/// (population, numpy's default ddof=0), std_j = sqrt(variance_j). Not thread-safe: merge per-worker instances with <see cref="Merge"/>.
/// </summary>
public sealed class FeatureStats
{
    const string Format = "cochlea.feature_stats.v1";
    readonly double[] _mean, _m2;
    readonly double[] _bMean, _bM2;

    /// <summary>Empty statistics over rows of <paramref name="bins"/> values.</summary>
    public FeatureStats(int bins)
    {
        if (bins < 1) throw new ArgumentOutOfRangeException(nameof(bins), bins, "bins must be >= 1.");
        Bins = bins;
        _mean = new double[bins]; _m2 = new double[bins]; _bMean = new double[bins]; _bM2 = new double[bins];
    }

    /// <summary>Values per row (the last axis of the features).</summary>
    public int Bins { get; }

    /// <summary>Rows accumulated.</summary>
    public long Count { get; private set; }

    /// <summary>Adds rows (rows, Bins) row-major: the batch's mean and M2 are computed in double, then merged.</summary>
    public void Add(ReadOnlySpan<float> rows)
    {
        if (rows.Length % Bins != 0) throw new ArgumentException($"rows has {rows.Length} values, not a multiple of {Bins} bins.", nameof(rows));
        long n = rows.Length / Bins;
        if (n == 0) return;
        Array.Clear(_bMean); Array.Clear(_bM2);
        for (int r = 0; r < rows.Length; r += Bins)
            for (int j = 0; j < Bins; j++) _bMean[j] += rows[r + j];
        for (int j = 0; j < Bins; j++) _bMean[j] /= n;
        for (int r = 0; r < rows.Length; r += Bins)
            for (int j = 0; j < Bins; j++) { double d = rows[r + j] - _bMean[j]; _bM2[j] += d * d; }
        Combine(n, _bMean, _bM2);
    }

    /// <summary>Adds every row of a float32 tensor whose last axis is Bins (e.g. (B, F, bins) features).</summary>
    public void Add(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Rank == 0 || features.Shape[^1] != Bins) throw new ArgumentException($"Expected features with last axis {Bins}, got {features.Describe()}.", nameof(features));
        using var c = features.Detach().Contiguous();
        Add(c.AsSpan());
    }

    /// <summary>Adds another accumulator's rows (as if its rows had been added here).</summary>
    public void Merge(FeatureStats other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Bins != Bins) throw new ArgumentException($"Cannot merge statistics over {other.Bins} bins into {Bins}.", nameof(other));
        if (other.Count > 0) Combine(other.Count, other._mean, other._m2);
    }

    /// <summary>Chan et al.: mean = mean_a + d * n_b / n, M2 = M2_a + M2_b + d^2 n_a n_b / n, d = mean_b - mean_a.</summary>
    void Combine(long nb, double[] meanB, double[] m2B)
    {
        long na = Count, n = na + nb;
        for (int j = 0; j < Bins; j++)
        {
            double d = meanB[j] - _mean[j];
            _mean[j] += d * nb / n;
            _m2[j] += m2B[j] + d * d * ((double)na * nb / n);
        }
        Count = n;
    }

    /// <summary>Per-bin mean.</summary>
    public double[] Mean() => (double[])_mean.Clone();

    /// <summary>Per-bin variance M2 / n (ddof 0) or M2 / (n - 1) when <paramref name="unbiased"/>.</summary>
    public double[] Variance(bool unbiased = false)
    {
        if (Count == 0 || (unbiased && Count < 2)) throw new InvalidOperationException($"Variance needs {(unbiased ? 2 : 1)}+ rows; have {Count}.");
        var v = new double[Bins];
        for (int j = 0; j < Bins; j++) v[j] = _m2[j] / (unbiased ? Count - 1 : Count);
        return v;
    }

    /// <summary>Per-bin standard deviation sqrt(Variance(ddof 0)).</summary>
    public double[] Std() => Variance().Select(Math.Sqrt).ToArray();

    /// <summary>(mean, 1 / max(std, minStd)) as float, for <see cref="FeatureNorm.Apply"/>.</summary>
    public (float[] Mean, float[] InvStd) Normalizer(double minStd = 1e-5)
    {
        var std = Std();
        return (_mean.Select(m => (float)m).ToArray(), std.Select(s => (float)(1.0 / Math.Max(s, minStd))).ToArray());
    }

    /// <summary>(x - mean) / max(std, minStd) per bin, as a new tensor of x's shape (last axis Bins).</summary>
    public Tensor Normalize(Tensor features, double minStd = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Rank == 0 || features.Shape[^1] != Bins) throw new ArgumentException($"Expected features with last axis {Bins}, got {features.Describe()}.", nameof(features));
        var (mean, inv) = Normalizer(minStd);
        using var c = features.Detach().Contiguous();
        var y = Tensor.Empty(features.Shape);
        FeatureNorm.Apply(c.AsSpan(), y.AsSpan(), mean, inv);
        return y;
    }

    /// <summary>
    /// Saves to safetensors: count (I64 [1]), mean and m2 (F64 [bins], enough to resume accumulating), mean_f32 and std_f32
    /// (F32 [bins], for consumers that only normalise); metadata format = cochlea.feature_stats.v1.
    /// </summary>
    public void Save(string path)
    {
        var std = Count > 0 ? Std() : new double[Bins];
        new SafeTensorsWriter()
            .AddMetadata("format", Format)
            .AddInt64("count", [Count], 1)
            .AddFloat64("mean", _mean, Bins)
            .AddFloat64("m2", _m2, Bins)
            .AddFloat32("mean_f32", _mean.Select(m => (float)m).ToArray(), Bins)
            .AddFloat32("std_f32", std.Select(s => (float)s).ToArray(), Bins)
            .Save(path);
    }

    /// <summary>Loads statistics written by <see cref="Save"/> (errors name the file and what is wrong).</summary>
    public static FeatureStats Load(string path)
    {
        using var f = SafeTensorsFile.Open(path);
        if (!f.Metadata.TryGetValue("format", out var fmt) || fmt != Format)
            throw new InvalidDataException($"{path}: not a feature statistics file (metadata format '{fmt}', expected '{Format}').");
        foreach (var name in new[] { "count", "mean", "m2" })
            if (!f.Contains(name)) throw new InvalidDataException($"{path}: missing tensor '{name}'.");
        var mean = f.ReadFloat64("mean");
        var m2 = f.ReadFloat64("m2");
        var count = f.ReadInt64("count");
        if (mean.Length == 0 || m2.Length != mean.Length || count.Length != 1 || count[0] < 0)
            throw new InvalidDataException($"{path}: inconsistent statistics (mean {mean.Length}, m2 {m2.Length}, count {count.Length} values).");
        var s = new FeatureStats(mean.Length) { Count = count[0] };
        mean.CopyTo(s._mean, 0); m2.CopyTo(s._m2, 0);
        return s;
    }
}
