// Time shift with zero padding, as the TensorFlow speech-commands tutorial applies it (pad, then slice
// back to the clip length): a positive shift delays the clip, a negative one advances it, and the
// samples shifted in are zeros. The random form draws the shift like the tutorial's
// np.random.randint(-max, max), i.e. from [-max, max) - max itself is never drawn.
namespace Cochlea.Models.Augment;

/// <summary>Zero-padded time shift of a clip (N samples).</summary>
public static class TimeShift
{
    /// <summary>
    /// dst[t] = src[t - shift] where 0 &lt;= t - shift &lt; N, else 0 (N = src.Length = dst.Length).
    /// |shift| &gt;= N gives all zeros.
    /// </summary>
    public static void Apply(ReadOnlySpan<float> src, Span<float> dst, int shift)
    {
        if (src.Length != dst.Length)
            throw new ArgumentException($"TimeShift.Apply: source has {src.Length} samples but destination {dst.Length}; they must match.", nameof(dst));
        if (src.Overlaps(dst, out int elementOffset) && elementOffset != 0)
            throw new ArgumentException("TimeShift.Apply: source and destination overlap at different offsets; use the in-place overload.", nameof(dst));
        int n = src.Length;
        long s = shift;   // long: shift = int.MinValue must not overflow on negation
        if (Math.Abs(s) >= n) { dst.Clear(); return; }
        int k = (int)Math.Abs(s);
        if (shift >= 0)
        {
            // Span.CopyTo is memmove-safe, so the in-place case (src == dst) works too.
            src[..(n - k)].CopyTo(dst[k..]);
            dst[..k].Clear();
        }
        else
        {
            src[k..].CopyTo(dst[..(n - k)]);
            dst[(n - k)..].Clear();
        }
    }

    /// <summary>Shifts <paramref name="clip"/> in place by <paramref name="shift"/> samples (see <see cref="Apply(ReadOnlySpan{float}, Span{float}, int)"/>).</summary>
    public static void Apply(Span<float> clip, int shift) => Apply(clip, clip, shift);

    /// <summary>A shift drawn uniformly from [-<paramref name="maxShift"/>, <paramref name="maxShift"/>) (0 when maxShift is 0), as the TF tutorial.</summary>
    public static int Draw(Philox rng, int maxShift)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (maxShift < 0) throw new ArgumentOutOfRangeException(nameof(maxShift), $"TimeShift: maxShift must be >= 0 samples (got {maxShift}).");
        return maxShift == 0 ? 0 : rng.NextInt(-maxShift, maxShift);
    }

    /// <summary>Shifts <paramref name="clip"/> in place by a random amount (<see cref="Draw"/>) and returns the shift applied.</summary>
    public static int ApplyRandom(Span<float> clip, int maxShift, Philox rng)
    {
        int shift = Draw(rng, maxShift);
        Apply(clip, shift);
        return shift;
    }
}
