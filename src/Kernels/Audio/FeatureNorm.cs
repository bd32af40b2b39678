// Per-bin feature standardisation, y = (x - mean[j]) * invStd[j] over rows of `bins` values, in place or
// out of place: the inference-time half of the dataset statistics (Models.Audio.FeatureStats computes and
// saves them), here so the Pi runtime can apply it without the engine.
using System.Numerics;

namespace Cochlea.Kernels.Audio;

/// <summary>Applies per-bin mean / inverse-std normalisation.</summary>
public static class FeatureNorm
{
    /// <summary>
    /// y[r, j] = (x[r, j] - mean[j]) * invStd[j] for rows r of <paramref name="mean"/>.Length bins (x, y row-major; x and y may
    /// be the same span).
    /// </summary>
    public static void Apply(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd)
    {
        int bins = mean.Length;
        if (bins == 0 || invStd.Length != bins) throw new ArgumentException($"mean and invStd must have the same non-zero length; got {mean.Length} and {invStd.Length}.");
        if (x.Length % bins != 0) throw new ArgumentException($"x has {x.Length} values, not a multiple of {bins} bins.", nameof(x));
        if (y.Length < x.Length) throw new ArgumentException($"y has {y.Length} values, expected at least {x.Length}.", nameof(y));
        int vw = Vector<float>.Count;
        for (int r = 0; r < x.Length; r += bins)
        {
            var xs = x.Slice(r, bins); var ys = y.Slice(r, bins);
            int j = 0;
            if (Vector.IsHardwareAccelerated)
                for (; j <= bins - vw; j += vw)
                    ((new Vector<float>(xs[j..]) - new Vector<float>(mean[j..])) * new Vector<float>(invStd[j..])).CopyTo(ys[j..]);
            for (; j < bins; j++) ys[j] = (xs[j] - mean[j]) * invStd[j];
        }
    }
}
