// Test-time augmentation of the TF speech challenge winner: the model sees each clip several
// times - as is, shifted left by 1500 samples, 1.2x louder, and time-stretched (10 % faster, by
// the phase vocoder, the freed end zero-filled) - and the class probabilities of the views are
// averaged. Without TTA the same code runs the single "original" view, so eval and predict have
// one inference path.
using Cochlea.Models.Augment;

namespace Cochlea.Models.Kws;

/// <summary>One test-time view: a name and a transform of one clip (src and dst have the same length, never overlap).</summary>
/// <param name="Name">Short name for reports ("original", "shift-left-1500", "louder-x1.2").</param>
/// <param name="Apply">Writes the view of a clip into dst.</param>
public sealed record KwsTtaView(string Name, KwsTtaTransform Apply);

/// <summary>Writes the view of <paramref name="src"/> into <paramref name="dst"/> (same length).</summary>
public delegate void KwsTtaTransform(ReadOnlySpan<float> src, Span<float> dst);

/// <summary>Test-time augmentation: probabilities averaged over views of each clip.</summary>
public static class KwsTta
{
    /// <summary>Samples the shifted view moves the clip to the left (earlier), zero-filling the end.</summary>
    public const int ShiftLeftSamples = 1500;

    /// <summary>Gain of the louder view.</summary>
    public const float LouderGain = 1.2f;

    /// <summary>
    /// Speed of the time-stretched view (rate &gt; 1 is faster: 16000 samples become 14545). Faster rather than slower so the
    /// stretched word stays inside the 1 s window instead of losing its end to the crop.
    /// </summary>
    public const double StretchRate = 1.1;

    /// <summary>The unchanged clip.</summary>
    public static readonly KwsTtaView Original = new("original", (src, dst) => src.CopyTo(dst));

    /// <summary>
    /// The views averaged with TTA on: original, shifted left 1500 samples, louder x1.2, time-stretched x1.1 (fitted back to
    /// the clip length: cut, or zero-padded at the end). The louder view is not clamped: the models read floats, and clipping
    /// would add distortion the training data never had.
    /// </summary>
    public static readonly IReadOnlyList<KwsTtaView> Views =
    [
        Original,
        new("shift-left-1500", (src, dst) => TimeShift.Apply(src, dst, -ShiftLeftSamples)),
        new("louder-x1.2", (src, dst) => { src.CopyTo(dst); Gain.Apply(dst, LouderGain); }),
        new("stretch-x1.1", (src, dst) => Data.ClipLength.FitInto(TimeStretch.Apply(src, StretchRate), dst)),
    ];

    /// <summary>
    /// Class probabilities (count x classes, row-major) of <paramref name="count"/> clips of 16000 samples stacked in
    /// <paramref name="clips"/>: softmax of the logits, averaged over <see cref="Views"/> when <paramref name="tta"/> is true.
    /// </summary>
    public static float[] Probabilities(KwsClassifier classifier, ReadOnlySpan<float> clips, int count, bool tta)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        if (!tta) return classifier.Probabilities(clips, count);
        var views = Views;
        var sum = new double[count * classifier.Labels.Count];
        var buffer = new float[clips.Length];
        int n = KwsClassifier.ClipSamples;
        foreach (var view in views)
        {
            for (int i = 0; i < count; i++) view.Apply(clips.Slice(i * n, n), buffer.AsSpan(i * n, n));
            var p = classifier.Probabilities(buffer, count);
            for (int k = 0; k < sum.Length; k++) sum[k] += p[k];
        }
        var mean = new float[sum.Length];
        for (int k = 0; k < sum.Length; k++) mean[k] = (float)(sum[k] / views.Count);
        return mean;
    }

    /// <summary>Index of the largest value in row <paramref name="row"/> of a (rows x classes) array (the first on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> values, int row, int classes)
    {
        var r = values.Slice(row * classes, classes);
        int best = 0;
        for (int k = 1; k < classes; k++) if (r[k] > r[best]) best = k;
        return best;
    }
}
