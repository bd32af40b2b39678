// Gain (volume) augmentation: multiply a clip by a fixed factor (test-time "louder x1.2") or by a
// random one, drawn either linearly or uniformly in decibels (perceptually even steps).
namespace Cochlea.Models.Augment;

/// <summary>Scales clips by a gain factor.</summary>
public static class Gain
{
    /// <summary>clip[t] *= <paramref name="gain"/>.</summary>
    public static void Apply(Span<float> clip, float gain)
    {
        if (!float.IsFinite(gain)) throw new ArgumentOutOfRangeException(nameof(gain), $"Gain: factor must be finite (got {gain}).");
        for (int i = 0; i < clip.Length; i++) clip[i] *= gain;
    }

    /// <summary>Multiplies by a factor uniform in [<paramref name="minGain"/>, <paramref name="maxGain"/>); returns the factor.</summary>
    public static float ApplyRandom(Span<float> clip, float minGain, float maxGain, Philox rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (!(minGain >= 0) || !(maxGain >= minGain) || !float.IsFinite(maxGain))
            throw new ArgumentOutOfRangeException(nameof(maxGain), $"Gain: need 0 <= minGain <= maxGain, finite (got {minGain}, {maxGain}).");
        float g = (float)rng.NextUniform(minGain, maxGain);
        Apply(clip, g);
        return g;
    }

    /// <summary>Multiplies by 10^(dB/20) with dB uniform in [<paramref name="minDb"/>, <paramref name="maxDb"/>); returns the factor.</summary>
    public static float ApplyRandomDb(Span<float> clip, float minDb, float maxDb, Philox rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (!float.IsFinite(minDb) || !float.IsFinite(maxDb) || maxDb < minDb)
            throw new ArgumentOutOfRangeException(nameof(maxDb), $"Gain: need finite minDb <= maxDb (got {minDb}, {maxDb}).");
        float g = (float)Math.Pow(10, rng.NextUniform(minDb, maxDb) / 20);
        Apply(clip, g);
        return g;
    }
}
