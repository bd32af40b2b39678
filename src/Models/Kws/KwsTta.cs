// Test-time augmentation of the TF speech challenge winner: the model sees each clip several
// times - as is, shifted left by 1500 samples, 1.2x louder (and time-stretched) - and the class
// probabilities of the views are averaged. Without TTA the same code runs the single "original"
// view, so eval and predict have one inference path.
//
// NOT YET: the time-stretch view. It needs the phase-vocoder augmentation
// (Cochlea.Models.Augment.TimeStretch), which this build does not have; until it lands the TTA
// average is over three views, and `Pending` says so for the CLI to print.
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

    /// <summary>The unchanged clip.</summary>
    public static readonly KwsTtaView Original = new("original", (src, dst) => src.CopyTo(dst));

    /// <summary>
    /// The views averaged with TTA on: original, shifted left 1500 samples, louder x1.2. The louder view is not clamped: the
    /// models read floats, and clipping would add distortion the training data never had.
    /// </summary>
    public static readonly IReadOnlyList<KwsTtaView> Views =
    [
        Original,
        new("shift-left-1500", (src, dst) => TimeShift.Apply(src, dst, -ShiftLeftSamples)),
        new("louder-x1.2", (src, dst) => { src.CopyTo(dst); Gain.Apply(dst, LouderGain); }),
    ];

    /// <summary>Views of the document's TTA that this build leaves out, for reports (empty once all are in).</summary>
    public static readonly IReadOnlyList<string> Pending = ["time-stretch (needs Cochlea.Models.Augment.TimeStretch)"];

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
