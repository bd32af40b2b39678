// Random equalisation: a cascade of peaking filters (biquads of the RBJ Audio EQ Cookbook) with
// random centre frequencies (log-uniform), gains and bandwidths - a different spectral tilt and
// colouring per clip, as different microphones, rooms and vocal tracts (or speech synthesisers) give.
// The filters run in double precision, direct form I, from zero state.
namespace Cochlea.Models.Augment;

/// <summary>One peaking-filter band: centre frequency (Hz), gain (dB; + boosts, - cuts), quality factor Q.</summary>
public readonly record struct EqBand(double FrequencyHz, double GainDb, double Q);

/// <summary>Random peaking-filter equalisation of clips.</summary>
public static class RandomEq
{
    /// <summary>Lowest centre frequency of the random bands (Hz).</summary>
    public const double MinFrequencyHz = 100;

    /// <summary>Filters <paramref name="clip"/> in place with the peaking bands, one after the other.</summary>
    public static void Apply(Span<float> clip, ReadOnlySpan<EqBand> bands, int sampleRate)
    {
        if (sampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "RandomEq: the sample rate must be > 0 Hz.");
        foreach (var b in bands)
        {
            if (!(b.FrequencyHz > 0 && b.FrequencyHz < sampleRate / 2.0) || !double.IsFinite(b.GainDb) || !(b.Q > 0) || !double.IsFinite(b.Q))
                throw new ArgumentOutOfRangeException(nameof(bands), $"RandomEq: a band needs 0 < frequency < {sampleRate / 2.0} Hz, a finite gain and 0 < Q (got {b}).");
            double a = Math.Pow(10, b.GainDb / 40), w0 = 2 * Math.PI * b.FrequencyHz / sampleRate;
            double alpha = Math.Sin(w0) / (2 * b.Q), cos = Math.Cos(w0), a0 = 1 + alpha / a;
            double b0 = (1 + alpha * a) / a0, b1 = -2 * cos / a0, b2 = (1 - alpha * a) / a0, a1 = -2 * cos / a0, a2 = (1 - alpha / a) / a0;
            double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
            for (int i = 0; i < clip.Length; i++)
            {
                double x = clip[i], y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
                x2 = x1; x1 = x; y2 = y1; y1 = y;
                clip[i] = (float)y;
            }
        }
    }

    /// <summary>
    /// <paramref name="count"/> random bands: centre log-uniform in [<see cref="MinFrequencyHz"/>, 0.45 * rate), gain uniform
    /// in [-<paramref name="maxGainDb"/>, <paramref name="maxGainDb"/>), Q log-uniform in [0.5, 2).
    /// </summary>
    public static EqBand[] Draw(int count, double maxGainDb, int sampleRate, Philox rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "RandomEq: the band count must be >= 0.");
        if (!(maxGainDb >= 0) || !double.IsFinite(maxGainDb)) throw new ArgumentOutOfRangeException(nameof(maxGainDb), maxGainDb, "RandomEq: the gain range must be finite and >= 0 dB.");
        if (!(sampleRate * 0.45 > MinFrequencyHz)) throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, $"RandomEq: the sample rate must exceed {MinFrequencyHz / 0.45:F0} Hz.");
        var bands = new EqBand[count];
        double lo = Math.Log(MinFrequencyHz), hi = Math.Log(0.45 * sampleRate);
        for (int i = 0; i < count; i++)
            bands[i] = new EqBand(Math.Exp(rng.NextUniform(lo, hi)), rng.NextUniform(-maxGainDb, maxGainDb), Math.Exp(rng.NextUniform(Math.Log(0.5), Math.Log(2))));
        return bands;
    }

    /// <summary>Draws <paramref name="count"/> bands (<see cref="Draw"/>) and applies them; returns them.</summary>
    public static EqBand[] ApplyRandom(Span<float> clip, int count, double maxGainDb, int sampleRate, Philox rng)
    {
        var bands = Draw(count, maxGainDb, sampleRate, rng);
        Apply(clip, bands, sampleRate);
        return bands;
    }
}
