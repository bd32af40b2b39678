// SpecAugment masking (Park et al. 2019) on (frames, bins) features: a number of frequency masks
// (bands of bins across all frames) and time masks (runs of frames across all bins). Each mask's
// width is uniform in [0, maxWidth] and its start uniform over the positions where it fits, as in
// the paper; the masked value is zero or the example's mean (taken before any masking, so
// overlapping masks all get the same value).
namespace Cochlea.Models.Augment;

/// <summary>What a SpecAugment mask writes.</summary>
public enum MaskFill
{
    /// <summary>0.</summary>
    Zero,
    /// <summary>The mean of the example's features before masking (neutral for normalised log features).</summary>
    Mean,
}

/// <summary>SpecAugment settings. Widths are clipped to the feature size.</summary>
/// <param name="FrequencyMasks">Number of frequency masks (F in the paper's notation: mF).</param>
/// <param name="MaxFrequencyWidth">Largest frequency mask width in bins (F).</param>
/// <param name="TimeMasks">Number of time masks (mT).</param>
/// <param name="MaxTimeWidth">Largest time mask width in frames (T).</param>
/// <param name="Fill">Masked value.</param>
public sealed record SpecAugmentOptions(int FrequencyMasks = 2, int MaxFrequencyWidth = 27, int TimeMasks = 2, int MaxTimeWidth = 40, MaskFill Fill = MaskFill.Mean)
{
    internal void Validate()
    {
        if (FrequencyMasks < 0 || TimeMasks < 0 || MaxFrequencyWidth < 0 || MaxTimeWidth < 0)
            throw new ArgumentOutOfRangeException(nameof(SpecAugmentOptions), $"SpecAugment: mask counts and widths must be >= 0 (got {this}).");
        if (!Enum.IsDefined(Fill)) throw new ArgumentOutOfRangeException(nameof(Fill), $"SpecAugment: unknown fill {Fill}.");
    }
}

/// <summary>One applied mask: frames [Start, Start+Width) when <see cref="IsTime"/>, else bins [Start, Start+Width).</summary>
public readonly record struct SpecMask(bool IsTime, int Start, int Width);

/// <summary>Frequency and time masking of (frames, bins) feature maps.</summary>
public static class SpecAugment
{
    /// <summary>
    /// Masks one example in place: <paramref name="features"/> is (frames, bins), row-major.
    /// Frequency masks are drawn first, then time masks. Returns the masks applied, in order.
    /// </summary>
    public static SpecMask[] Apply(Span<float> features, int frames, int bins, SpecAugmentOptions options, Philox rng)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rng);
        options.Validate();
        CheckShape(features.Length, 1, frames, bins);
        float fill = options.Fill == MaskFill.Mean ? Mean(features) : 0f;
        var masks = new SpecMask[options.FrequencyMasks + options.TimeMasks];
        for (int m = 0; m < options.FrequencyMasks; m++)
        {
            var (start, width) = DrawBand(bins, options.MaxFrequencyWidth, rng);
            for (int t = 0; t < frames; t++) features.Slice(t * bins + start, width).Fill(fill);
            masks[m] = new SpecMask(false, start, width);
        }
        for (int m = 0; m < options.TimeMasks; m++)
        {
            var (start, width) = DrawBand(frames, options.MaxTimeWidth, rng);
            features.Slice(start * bins, width * bins).Fill(fill);
            masks[options.FrequencyMasks + m] = new SpecMask(true, start, width);
        }
        return masks;
    }

    /// <summary>Masks each example of a (batch, frames, bins) array independently (one rng, examples in order).</summary>
    public static void ApplyBatch(Span<float> features, int batch, int frames, int bins, SpecAugmentOptions options, Philox rng)
    {
        CheckShape(features.Length, batch, frames, bins);
        int size = frames * bins;
        for (int b = 0; b < batch; b++) Apply(features.Slice(b * size, size), frames, bins, options, rng);
    }

    static (int Start, int Width) DrawBand(int size, int maxWidth, Philox rng)
    {
        int width = rng.NextInt(Math.Min(maxWidth, size) + 1);
        int start = rng.NextInt(size - width + 1);
        return (start, width);
    }

    static float Mean(ReadOnlySpan<float> x)
    {
        if (x.Length == 0) return 0;
        double s = 0;
        foreach (float v in x) s += v;
        return (float)(s / x.Length);
    }

    static void CheckShape(int length, int batch, int frames, int bins)
    {
        if (batch < 0 || frames < 0 || bins < 0)
            throw new ArgumentOutOfRangeException(nameof(frames), $"SpecAugment: batch, frames and bins must be >= 0 (got {batch}, {frames}, {bins}).");
        if ((long)batch * frames * bins != length)
            throw new ArgumentException($"SpecAugment: {length} values do not match (batch {batch}, frames {frames}, bins {bins}).", "features");
    }
}
