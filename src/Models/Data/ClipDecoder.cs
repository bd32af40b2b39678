// The seam between datasets and audio decoding: datasets and loaders take a ClipDecoder (path ->
// mono float samples in [-1, 1]) from the caller, so they work with in-memory or synthetic clips in
// tests and with the WAV/FLAC reader in src/Models/Audio by a one-line hookup.
namespace Cochlea.Models.Data;

/// <summary>Reads the audio file at <paramref name="path"/> as mono float samples (nominally in [-1, 1]).</summary>
public delegate float[] ClipDecoder(string path);

/// <summary>Fixed-length helpers for decoded clips.</summary>
public static class ClipLength
{
    /// <summary>
    /// The first <paramref name="samples"/> samples of <paramref name="clip"/>, zero-padded at the end when it is
    /// shorter (TF's decode_wav with desired_samples). Returns <paramref name="clip"/> itself when it already fits.
    /// </summary>
    public static float[] Fit(float[] clip, int samples)
    {
        ArgumentNullException.ThrowIfNull(clip);
        if (samples < 0) throw new ArgumentOutOfRangeException(nameof(samples), $"ClipLength.Fit: samples must be >= 0 (got {samples}).");
        if (clip.Length == samples) return clip;
        var r = new float[samples];
        clip.AsSpan(0, Math.Min(samples, clip.Length)).CopyTo(r);
        return r;
    }

    /// <summary>Copies the first dst.Length samples of <paramref name="src"/> into <paramref name="dst"/> and zero-fills the rest.</summary>
    public static void FitInto(ReadOnlySpan<float> src, Span<float> dst)
    {
        int n = Math.Min(src.Length, dst.Length);
        src[..n].CopyTo(dst);
        dst[n..].Clear();
    }
}
