// Background-noise mixing: a random segment of a random long noise clip (Speech Commands'
// _background_noise_ folder) added to a clip either at a volume (the TF tutorial: with probability
// background_frequency, volume ~ U[0, background_volume); the sum clamped to [-1, 1]) or at a
// signal-to-noise ratio in dB (noise scaled so 10 log10(P_clip / P_noise) = SNR, powers = mean squares).
namespace Cochlea.Models.Augment;

/// <summary>A set of long noise clips to mix into training clips. Immutable, so workers may share one.</summary>
public sealed class BackgroundNoise
{
    readonly float[][] _clips;
    readonly string[] _names;
    readonly int _shortest;

    /// <summary>Noise clips (any lengths &gt; 0), with optional names for error messages (file names).</summary>
    public BackgroundNoise(IReadOnlyList<float[]> clips, IReadOnlyList<string>? names = null)
    {
        ArgumentNullException.ThrowIfNull(clips);
        if (clips.Count == 0) throw new ArgumentException("BackgroundNoise: at least one noise clip is needed.", nameof(clips));
        if (names is not null && names.Count != clips.Count)
            throw new ArgumentException($"BackgroundNoise: {clips.Count} clips but {names.Count} names.", nameof(names));
        _clips = new float[clips.Count][];
        _names = new string[clips.Count];
        for (int i = 0; i < clips.Count; i++)
        {
            _names[i] = names?[i] ?? $"noise clip {i}";
            _clips[i] = clips[i] ?? throw new ArgumentException($"BackgroundNoise: {_names[i]} is null.", nameof(clips));
            if (_clips[i].Length == 0) throw new ArgumentException($"BackgroundNoise: {_names[i]} is empty.", nameof(clips));
        }
        _shortest = _clips.Min(c => c.Length);
    }

    /// <summary>Number of noise clips.</summary>
    public int Count => _clips.Length;

    /// <summary>Names of the clips (file names, or "noise clip i").</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>
    /// Copies a random segment of dst.Length samples into <paramref name="dst"/>: clip index ~ U{0..Count-1},
    /// start ~ U{0..len-N}. Every clip must be at least N samples long.
    /// </summary>
    public void Segment(Span<float> dst, Philox rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        // Checked for all clips, not just the drawn one, so a too-short file fails on the first call, not at random.
        if (dst.Length > _shortest)
        {
            int n = dst.Length, bad = Array.FindIndex(_clips, c => c.Length < n);
            throw new InvalidOperationException($"BackgroundNoise: {_names[bad]} has {_clips[bad].Length} samples; segments of {n} were requested.");
        }
        int which = rng.NextInt(_clips.Length);
        var clip = _clips[which];
        int start = rng.NextInt(clip.Length - dst.Length + 1);
        clip.AsSpan(start, dst.Length).CopyTo(dst);
    }

    /// <summary>
    /// TF tutorial mixing: with probability <paramref name="frequency"/>, adds a random segment times a volume
    /// ~ U[0, <paramref name="maxVolume"/>) and clamps to [-1, 1] (a segment is always drawn, as in the tutorial).
    /// Returns the volume used (0 when not mixed).
    /// </summary>
    public float AddAtRandomVolume(Span<float> clip, double frequency, double maxVolume, Philox rng)
    {
        if (!(frequency >= 0 && frequency <= 1)) throw new ArgumentOutOfRangeException(nameof(frequency), $"BackgroundNoise: frequency must be in [0, 1] (got {frequency}).");
        if (!(maxVolume >= 0) || !double.IsFinite(maxVolume)) throw new ArgumentOutOfRangeException(nameof(maxVolume), $"BackgroundNoise: maxVolume must be finite and >= 0 (got {maxVolume}).");
        float[] seg = new float[clip.Length];
        Segment(seg, rng);
        float volume = rng.NextDouble() < frequency ? (float)rng.NextUniform(0, maxVolume) : 0f;
        AddAtVolume(clip, seg, volume, clamp: true);
        return volume;
    }

    /// <summary>Adds a random segment at an SNR ~ U[<paramref name="minSnrDb"/>, <paramref name="maxSnrDb"/>) dB (no clamping); returns the SNR drawn.</summary>
    public double AddAtRandomSnr(Span<float> clip, double minSnrDb, double maxSnrDb, Philox rng)
    {
        if (!double.IsFinite(minSnrDb) || !double.IsFinite(maxSnrDb) || maxSnrDb < minSnrDb)
            throw new ArgumentOutOfRangeException(nameof(maxSnrDb), $"BackgroundNoise: need finite minSnrDb <= maxSnrDb (got {minSnrDb}, {maxSnrDb}).");
        float[] seg = new float[clip.Length];
        Segment(seg, rng);
        double snr = rng.NextUniform(minSnrDb, maxSnrDb);
        AddAtSnr(clip, seg, snr, clamp: false);
        return snr;
    }

    /// <summary>clip[t] += volume * noise[t], then optionally clamps to [-1, 1] (as the TF tutorial does).</summary>
    public static void AddAtVolume(Span<float> clip, ReadOnlySpan<float> noise, float volume, bool clamp = true)
    {
        CheckLengths(clip, noise);
        if (!float.IsFinite(volume) || volume < 0) throw new ArgumentOutOfRangeException(nameof(volume), $"BackgroundNoise: volume must be finite and >= 0 (got {volume}).");
        for (int i = 0; i < clip.Length; i++)
        {
            float v = clip[i] + volume * noise[i];
            clip[i] = clamp ? Math.Clamp(v, -1f, 1f) : v;
        }
    }

    /// <summary>
    /// Adds noise scaled by s = sqrt(P_clip / (P_noise 10^(snrDb/10))), P = mean square, so the mix has the given
    /// SNR. Returns s; it is 0 (nothing added) when the clip or the noise is all zeros (no SNR is defined).
    /// Clamping to [-1, 1] is off by default because it would change the achieved SNR.
    /// </summary>
    public static float AddAtSnr(Span<float> clip, ReadOnlySpan<float> noise, double snrDb, bool clamp = false)
    {
        CheckLengths(clip, noise);
        if (!double.IsFinite(snrDb)) throw new ArgumentOutOfRangeException(nameof(snrDb), $"BackgroundNoise: SNR must be finite (got {snrDb} dB).");
        double ps = MeanSquare(clip), pn = MeanSquare(noise);
        float scale = ps > 0 && pn > 0 ? (float)Math.Sqrt(ps / (pn * Math.Pow(10, snrDb / 10))) : 0f;
        if (scale > 0) AddAtVolume(clip, noise, scale, clamp);
        return scale;
    }

    /// <summary>Mean of the squares, accumulated in double.</summary>
    public static double MeanSquare(ReadOnlySpan<float> x)
    {
        if (x.Length == 0) return 0;
        double s = 0;
        foreach (float v in x) s += (double)v * v;
        return s / x.Length;
    }

    static void CheckLengths(ReadOnlySpan<float> clip, ReadOnlySpan<float> noise)
    {
        if (clip.Length != noise.Length)
            throw new ArgumentException($"BackgroundNoise: clip has {clip.Length} samples but noise {noise.Length}; they must match.", nameof(noise));
    }
}
