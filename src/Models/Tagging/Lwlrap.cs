// LWLRAP: label-weighted label-ranking average precision, the metric of the Freesound and Rainforest
// competitions. For sample s and each of its positive classes c:
//   precision(s, c) = |{positive c' : score(s, c') >= score(s, c)}| / |{any c' : score(s, c') >= score(s, c)}|
// (ties ranked pessimistically, as scikit-learn's label_ranking_average_precision_score); per class, the
// mean precision over the samples where it is positive; overall, the mean over every (sample, positive
// class) pair = sum over classes of per-class value x (its positives / all positives).
namespace Cochlea.Models.Tagging;

/// <summary>The result: overall value, per-class values and the class weights (share of all positive labels).</summary>
public sealed record LwlrapResult(double Value, double[] PerClass, double[] Weight);

/// <summary>Label-weighted label-ranking average precision; see the file header.</summary>
public static class Lwlrap
{
    /// <summary>
    /// scores (samples, classes) row-major, truth the same shape (positive where &gt; 0). Samples with no positive label
    /// contribute nothing; with no positive label at all the value is 0.
    /// </summary>
    public static LwlrapResult Compute(ReadOnlySpan<float> scores, ReadOnlySpan<float> truth, int samples, int classes)
    {
        if (samples < 0 || classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), $"lwlrap: samples ({samples}) >= 0 and classes ({classes}) >= 1 expected.");
        if (scores.Length != (long)samples * classes || truth.Length != scores.Length)
            throw new ArgumentException($"lwlrap: expected {samples} x {classes} scores and truth, got {scores.Length} and {truth.Length}.");
        var sum = new double[classes];
        var count = new int[classes];
        for (int s = 0; s < samples; s++)
        {
            var sc = scores.Slice(s * classes, classes);
            var tr = truth.Slice(s * classes, classes);
            for (int c = 0; c < classes; c++)
            {
                if (!(tr[c] > 0)) continue;
                if (float.IsNaN(sc[c])) throw new ArgumentException($"lwlrap: score of sample {s}, class {c} is NaN.");
                int above = 0, hits = 0;
                for (int k = 0; k < classes; k++)
                    if (sc[k] >= sc[c]) { above++; if (tr[k] > 0) hits++; }
                sum[c] += (double)hits / above;
                count[c]++;
            }
        }
        long total = count.Sum(v => (long)v);
        var perClass = new double[classes];
        var weight = new double[classes];
        double value = 0;
        for (int c = 0; c < classes; c++)
        {
            perClass[c] = sum[c] / Math.Max(1, count[c]);
            weight[c] = total == 0 ? 0 : (double)count[c] / total;
            value += perClass[c] * weight[c];
        }
        return new LwlrapResult(value, perClass, weight);
    }
}
