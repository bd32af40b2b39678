// Log compressions of spectrogram energies: decibels as librosa.power_to_db and torchaudio's
// AmplitudeToDB (ref, amin, top_db), and natural logs with an offset or a zero floor. The per-element
// part runs inside the STFT lane pipeline; the parts that need a whole clip (ref = max, top_db) run
// here over a clip's output afterwards.
using System.Numerics;
using System.Runtime.Intrinsics;

namespace Cochlea.Kernels.Audio;

/// <summary>Which log compression a mel/spectrogram kernel applies.</summary>
public enum LogKind
{
    /// <summary>No compression: the energies themselves.</summary>
    None,
    /// <summary>ln(x + offset) (torchaudio MFCC with log_mels=True uses offset 1e-6).</summary>
    Ln,
    /// <summary>ln(x), with exact zeros replaced by a floor first (python_speech_features: numpy.where(x == 0, eps, x)).</summary>
    LnZeroFloor,
    /// <summary>multiplier * log10(max(x, amin)) - multiplier * log10(max(amin, ref)), then optionally clamped to max - top_db per clip.</summary>
    Decibel,
}

/// <summary>
/// A log compression, with the parameters of its kind. Decibel matches librosa.power_to_db(S, ref, amin, top_db)
/// (multiplier 10) and torchaudio.transforms.AmplitudeToDB (multiplier 10 for power, 20 for magnitude; amin 1e-10,
/// ref 1). top_db and ref = max are taken over one clip's whole output (frames x bins).
/// </summary>
public sealed record LogCompression
{
    /// <summary>Kind of compression.</summary>
    public LogKind Kind { get; init; }
    /// <summary>Ln: added before the log. LnZeroFloor: the value that replaces exact zeros.</summary>
    public float Offset { get; init; }
    /// <summary>Decibel: 10 for power, 20 for amplitude.</summary>
    public float Multiplier { get; init; } = 10f;
    /// <summary>Decibel: lower clamp of the input and of the reference.</summary>
    public float Amin { get; init; } = 1e-10f;
    /// <summary>Decibel: the reference value (ignored when <see cref="ReferenceIsMax"/>).</summary>
    public float Reference { get; init; } = 1f;
    /// <summary>Decibel: use the clip's maximum as the reference (librosa ref=np.max).</summary>
    public bool ReferenceIsMax { get; init; }
    /// <summary>Decibel: when set, values below (clip max - TopDb) are raised to it.</summary>
    public float? TopDb { get; init; }

    /// <summary>No compression.</summary>
    public static LogCompression None { get; } = new() { Kind = LogKind.None };

    /// <summary>ln(x + offset).</summary>
    public static LogCompression Log(float offset = 1e-6f) => new() { Kind = LogKind.Ln, Offset = offset };

    /// <summary>ln(x) with x == 0 replaced by <paramref name="floor"/> (python_speech_features uses numpy float64 eps, 2.220446e-16).</summary>
    public static LogCompression LogZeroFloor(float floor = 2.220446049250313e-16f) => new() { Kind = LogKind.LnZeroFloor, Offset = floor };

    /// <summary>librosa.power_to_db(S, ref, amin, top_db): 10 log10(max(S, amin)) - 10 log10(max(amin, ref)), clamped to max - top_db.</summary>
    public static LogCompression PowerToDb(float reference = 1f, float amin = 1e-10f, float? topDb = 80f, bool referenceIsMax = false)
        => new() { Kind = LogKind.Decibel, Multiplier = 10f, Amin = amin, Reference = reference, TopDb = topDb, ReferenceIsMax = referenceIsMax };

    /// <summary>torchaudio.transforms.AmplitudeToDB(stype, top_db): multiplier 10 ("power") or 20 ("magnitude"), amin 1e-10, ref 1.</summary>
    public static LogCompression AmplitudeToDb(bool power = true, float? topDb = null)
        => new() { Kind = LogKind.Decibel, Multiplier = power ? 10f : 20f, Amin = 1e-10f, Reference = 1f, TopDb = topDb };

    internal void Validate()
    {
        if (Kind == LogKind.Ln && !(Offset >= 0)) throw new ArgumentOutOfRangeException(nameof(Offset), Offset, "Log offset must be >= 0.");
        if (Kind == LogKind.LnZeroFloor && !(Offset > 0)) throw new ArgumentOutOfRangeException(nameof(Offset), Offset, "Zero floor must be > 0.");
        if (Kind == LogKind.Decibel)
        {
            if (!(Amin > 0)) throw new ArgumentOutOfRangeException(nameof(Amin), Amin, "amin must be > 0.");
            if (!(Reference > 0)) throw new ArgumentOutOfRangeException(nameof(Reference), Reference, "ref must be > 0.");
            if (TopDb is float t && !(t >= 0)) throw new ArgumentOutOfRangeException(nameof(TopDb), t, "top_db must be >= 0.");
        }
    }

    /// <summary>True when the compression needs a pass over a whole clip after the per-element part.</summary>
    internal bool NeedsClipPass => Kind == LogKind.Decibel && (ReferenceIsMax || TopDb is not null);

    /// <summary>The constant subtracted per element: multiplier * log10(max(amin, ref)) (0 when the reference is the clip max, applied later).</summary>
    internal float ReferenceDb => ReferenceIsMax ? 0f : (float)(Multiplier * Math.Log10(Math.Max(Amin, Reference)));
}

/// <summary>Decibel conversions on spans (one clip at a time).</summary>
public static class Decibel
{
    /// <summary>
    /// librosa.power_to_db on one array: y = 10 log10(max(S, amin)) - 10 log10(max(amin, ref)) (ref = max(S) when
    /// <paramref name="referenceIsMax"/>), then y = max(y, max(y) - top_db) when top_db is set. y may alias s.
    /// </summary>
    public static void PowerToDb(ReadOnlySpan<float> s, Span<float> y, float reference = 1f, float amin = 1e-10f, float? topDb = 80f, bool referenceIsMax = false)
        => Apply(s, y, LogCompression.PowerToDb(reference, amin, topDb, referenceIsMax));

    /// <summary>torchaudio.functional.amplitude_to_DB on one spectrogram: multiplier * log10(max(x, amin)) - multiplier * log10(max(amin, ref)), top_db clamp over the span.</summary>
    public static void AmplitudeToDb(ReadOnlySpan<float> x, Span<float> y, float multiplier, float amin = 1e-10f, float reference = 1f, float? topDb = null)
        => Apply(x, y, new LogCompression { Kind = LogKind.Decibel, Multiplier = multiplier, Amin = amin, Reference = reference, TopDb = topDb });

    /// <summary>Applies a decibel compression to one clip's values (x and y may alias).</summary>
    public static void Apply(ReadOnlySpan<float> x, Span<float> y, LogCompression c)
    {
        if (c.Kind != LogKind.Decibel) throw new ArgumentException($"Decibel.Apply needs a Decibel compression, got {c.Kind}.", nameof(c));
        c.Validate();
        if (y.Length < x.Length) throw new ArgumentException($"y has {y.Length} values, expected at least {x.Length}.", nameof(y));
        double scale = c.Multiplier, refDb = c.ReferenceDb;
        for (int i = 0; i < x.Length; i++) y[i] = (float)(scale * Math.Log10(Math.Max(x[i], c.Amin)) - refDb);
        FinishClip(y[..x.Length], c);
    }

    /// <summary>The per-clip part: subtract the clip max (ref = max), then clamp at max - top_db.</summary>
    internal static void FinishClip(Span<float> y, LogCompression c)
    {
        if (!c.NeedsClipPass || y.IsEmpty) return;
        float max = Max(y);
        if (c.ReferenceIsMax)
        {
            // max(dB) = multiplier*log10(max(amin, max S)) is exactly the reference term; clamp (amin) already applied.
            Add(y, -max);
            max = 0f;
        }
        if (c.TopDb is float top) ClampBelow(y, max - top);
    }

    // Whole-clip passes over the output; pointer loops with Vector512 where it is accelerated (Vector<float> stays at 256
    // bits on AVX-512 machines), else Vector<float>, and a scalar tail.
    static unsafe float Max(ReadOnlySpan<float> y)
    {
        int i = 0, n = y.Length, vw = Vector<float>.Count;
        float m = float.NegativeInfinity;
        fixed (float* p = y)
        {
            if (Vector512.IsHardwareAccelerated && n >= 16)
            {
                // Four running maxima: one would chain every load through vmaxps' latency.
                Vector512<float> v = Vector512.Load(p), v1 = v, v2 = v, v3 = v;
                for (i = 16; i <= n - 64; i += 64)
                {
                    v = Vector512.Max(v, Vector512.Load(p + i)); v1 = Vector512.Max(v1, Vector512.Load(p + i + 16));
                    v2 = Vector512.Max(v2, Vector512.Load(p + i + 32)); v3 = Vector512.Max(v3, Vector512.Load(p + i + 48));
                }
                for (; i <= n - 16; i += 16) v = Vector512.Max(v, Vector512.Load(p + i));
                v = Vector512.Max(Vector512.Max(v, v1), Vector512.Max(v2, v3));
                var h = Vector256.Max(v.GetLower(), v.GetUpper());
                for (int j = 0; j < 8; j++) m = Math.Max(m, h[j]);
            }
            else if (Vector.IsHardwareAccelerated && n >= vw)
            {
                var v = Vector.Load(p);
                for (i = vw; i <= n - vw; i += vw) v = Vector.Max(v, Vector.Load(p + i));
                for (int j = 0; j < vw; j++) m = Math.Max(m, v[j]);
            }
            for (; i < n; i++) m = Math.Max(m, p[i]);
        }
        return m;
    }

    static unsafe void Add(Span<float> y, float a)
    {
        int i = 0, n = y.Length, vw = Vector<float>.Count;
        fixed (float* p = y)
        {
            if (Vector512.IsHardwareAccelerated)
                for (var va = Vector512.Create(a); i <= n - 16; i += 16) Vector512.Store(Vector512.Load(p + i) + va, p + i);
            if (Vector.IsHardwareAccelerated)
                for (var va = new Vector<float>(a); i <= n - vw; i += vw) Vector.Store(Vector.Load(p + i) + va, p + i);
            for (; i < n; i++) p[i] += a;
        }
    }

    static unsafe void ClampBelow(Span<float> y, float lo)
    {
        int i = 0, n = y.Length, vw = Vector<float>.Count;
        fixed (float* p = y)
        {
            if (Vector512.IsHardwareAccelerated)
                for (var vl = Vector512.Create(lo); i <= n - 16; i += 16) Vector512.Store(Vector512.Max(Vector512.Load(p + i), vl), p + i);
            if (Vector.IsHardwareAccelerated)
                for (var vl = new Vector<float>(lo); i <= n - vw; i += vw) Vector.Store(Vector.Max(Vector.Load(p + i), vl), p + i);
            for (; i < n; i++) p[i] = Math.Max(p[i], lo);
        }
    }
}
