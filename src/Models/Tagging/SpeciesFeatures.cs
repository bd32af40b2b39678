// The AttentionTagger's input for a window of a 48 kHz recording (DESIGN.md model 4): log-mel with
// 384 bins (fmin 50 Hz, fmax 24 kHz, power_to_db with top_db 80), per-image standardisation (zero
// mean, unit std), bilinear resize to H x W (192 x 384 by default; frequency on H, time on W) and the
// one channel repeated 3 times:  samples (N) -> image (3, H, W). SpecAugment masks, when given, are
// drawn on the log-mel (frames x bins) before standardisation.
using Cochlea.Kernels.Audio;
using Cochlea.Models.Audio;
using Cochlea.Models.Augment;

namespace Cochlea.Models.Tagging;

/// <summary>Front-end settings; the defaults are the document's.</summary>
public sealed record SpeciesFrontEnd(int SampleRate = 48000, int NFft = 2048, int Hop = 512, int Mels = 384, double FMin = 50,
    double FMax = 24000, int Height = 192, int Width = 384, double WindowSeconds = 10)
{
    /// <summary>Samples per window.</summary>
    public int WindowSamples => (int)Math.Round(WindowSeconds * SampleRate);
}

/// <summary>Computes tagger images from audio windows; see the file header.</summary>
public sealed class SpeciesFeatures
{
    readonly MelSpectrogram _mel;

    /// <summary>The settings.</summary>
    public SpeciesFrontEnd FrontEnd { get; }

    /// <summary>A front end with <paramref name="frontEnd"/>'s settings.</summary>
    public SpeciesFeatures(SpeciesFrontEnd frontEnd)
    {
        FrontEnd = frontEnd;
        _mel = new MelSpectrogram(new MelOptions(frontEnd.SampleRate, frontEnd.NFft, Hop: frontEnd.Hop, FMin: frontEnd.FMin, FMax: frontEnd.FMax,
            NMels: frontEnd.Mels, Scale: MelScale.Slaney, Norm: MelNorm.Slaney), LogCompression.PowerToDb(topDb: 80f));
    }

    /// <summary>Writes the (3, H, W) image of <paramref name="window"/> into <paramref name="image"/> (3 * H * W floats).</summary>
    public void Image(ReadOnlySpan<float> window, Span<float> image, SpecAugmentOptions? specAugment = null, Philox? rng = null)
    {
        var f = FrontEnd;
        int plane = f.Height * f.Width;
        if (image.Length != 3 * plane) throw new ArgumentException($"SpeciesFeatures: image needs {3 * plane} floats, got {image.Length}.");
        using var scope = Tensor.Scope();
        using var ng = Tensor.NoGrad();
        var logmel = _mel.Forward(Tensor.FromArray(window.ToArray(), window.Length));          // (frames, mels)
        int frames = logmel.Size(0), mels = logmel.Size(1);
        var lm = logmel.ToArray();
        if (specAugment is not null) SpecAugment.Apply(lm, frames, mels, specAugment, rng ?? throw new ArgumentNullException(nameof(rng)));
        double mean = 0, sq = 0;
        foreach (var v in lm) mean += v;
        mean /= lm.Length;
        foreach (var v in lm) sq += (v - mean) * (v - mean);
        float inv = (float)(1.0 / Math.Sqrt(sq / lm.Length + 1e-12));
        for (int i = 0; i < lm.Length; i++) lm[i] = (float)((lm[i] - mean) * inv);
        // (frames, mels) -> (1, 1, mels, frames), highest frequency on the first row, then resized.
        var img = Tensor.FromArray(lm, frames, mels).Transpose(0, 1).Flip0().Reshape(1, 1, mels, frames);
        var resized = Ops.ResizeBilinear(img, (f.Height, f.Width)).ToArray();
        for (int c = 0; c < 3; c++) resized.AsSpan().CopyTo(image.Slice(c * plane, plane));
    }
}

static class TensorFlipExtensions
{
    // Rows in reverse order (a contiguous copy): tensors have no negative-stride views.
    public static Tensor Flip0(this Tensor x)
    {
        var c = x.Contiguous().ToArray();
        int rows = x.Size(0), cols = (int)(x.Numel / Math.Max(1, rows));
        var r = new float[c.Length];
        for (int i = 0; i < rows; i++) Array.Copy(c, (long)i * cols, r, (long)(rows - 1 - i) * cols, cols);
        return Tensor.FromArray(r, x.Shape.ToArray());
    }
}
