// Evaluation of a keyword spotter: class probabilities for every batch (with or without TTA),
// a confusion matrix (rows = true class, columns = predicted), per-class accuracy (recall) and
// the mean negative log-likelihood. Used by `cochlea eval`, by the trainer's per-epoch validation
// and by the demo, so all three report the same numbers for the same clips.
using System.Diagnostics;
using Cochlea.Models.Data;

namespace Cochlea.Models.Kws;

/// <summary>Counts of (true class, predicted class) pairs.</summary>
public sealed class ConfusionMatrix
{
    readonly long[,] _counts;

    /// <summary>An empty matrix over <paramref name="labels"/>.</summary>
    public ConfusionMatrix(IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count == 0) throw new ArgumentException("a confusion matrix needs at least one class.", nameof(labels));
        Labels = labels.ToArray();
        _counts = new long[labels.Count, labels.Count];
    }

    /// <summary>Class names (row and column order).</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>Clips counted.</summary>
    public long Total { get; private set; }

    /// <summary>Clips on the diagonal.</summary>
    public long Correct { get; private set; }

    /// <summary>Correct / Total (0 when empty).</summary>
    public double Accuracy => Total == 0 ? 0 : (double)Correct / Total;

    /// <summary>Clips of true class <paramref name="truth"/> predicted as <paramref name="predicted"/>.</summary>
    public long this[int truth, int predicted] => _counts[truth, predicted];

    /// <summary>Counts one clip.</summary>
    public void Add(int truth, int predicted)
    {
        int c = Labels.Count;
        if ((uint)truth >= (uint)c || (uint)predicted >= (uint)c)
            throw new ArgumentOutOfRangeException(nameof(truth), $"class indices must be in [0, {c}); got truth {truth}, predicted {predicted}.");
        _counts[truth, predicted]++;
        Total++;
        if (truth == predicted) Correct++;
    }

    /// <summary>Clips whose true class is <paramref name="truth"/>.</summary>
    public long RowTotal(int truth)
    {
        long s = 0;
        for (int p = 0; p < Labels.Count; p++) s += _counts[truth, p];
        return s;
    }

    /// <summary>Accuracy on clips of class <paramref name="truth"/> (recall); NaN when the class has no clips.</summary>
    public double ClassAccuracy(int truth)
    {
        long n = RowTotal(truth);
        return n == 0 ? double.NaN : (double)_counts[truth, truth] / n;
    }
}

/// <summary>Result of an evaluation pass.</summary>
/// <param name="Confusion">Counts per (true, predicted) class.</param>
/// <param name="Loss">Mean negative log-likelihood -ln p(true class) over the clips (of the averaged probabilities with TTA).</param>
/// <param name="Seconds">Wall time.</param>
public sealed record KwsEvalResult(ConfusionMatrix Confusion, double Loss, double Seconds)
{
    /// <summary>Fraction of clips classified correctly.</summary>
    public double Accuracy => Confusion.Accuracy;

    /// <summary>Clips evaluated.</summary>
    public long Clips => Confusion.Total;

    /// <summary>Throughput.</summary>
    public double ClipsPerSecond => Seconds > 0 ? Clips / Seconds : 0;

    /// <summary>The line every evaluation report ends with: "accuracy: NN.N% on N clips".</summary>
    public string SummaryLine => $"accuracy: {Accuracy * 100:F1}% on {Clips} clips";
}

/// <summary>Runs a classifier over labelled batches.</summary>
public static class KwsEvaluation
{
    /// <summary>
    /// Evaluates <paramref name="classifier"/> on <paramref name="items"/> of <paramref name="clips"/> without augmentation (silence
    /// entries get noise, keyed by <paramref name="seed"/>), with TTA when asked. <paramref name="progress"/> gets (clips done, total).
    /// The classifier's labels must be the data set's.
    /// </summary>
    public static KwsEvalResult Evaluate(KwsClassifier classifier, KwsClips clips, IReadOnlyList<SpeechCommandsItem> items, bool tta = false,
        int batchSize = 64, int workers = 1, ulong seed = 0, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(clips);
        ArgumentNullException.ThrowIfNull(items);
        RequireSameLabels(classifier.Labels, clips.Dataset.Labels, "the data set");
        using var loader = clips.Loader(items, training: false, batchSize, workers, seed);
        return Run(classifier, loader.Epoch(0), tta, items.Count, progress);
    }

    /// <summary>Evaluates on already-built batches (their labels index <paramref name="classifier"/>'s labels).</summary>
    public static KwsEvalResult Run(KwsClassifier classifier, IEnumerable<AudioBatch> batches, bool tta, int total, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(batches);
        var sw = Stopwatch.StartNew();
        var cm = new ConfusionMatrix(classifier.Labels);
        int c = classifier.Labels.Count, done = 0;
        double nll = 0;
        foreach (var batch in batches)
            using (batch)
            {
                var p = KwsTta.Probabilities(classifier, batch.Audio, batch.Size, tta);
                for (int i = 0; i < batch.Size; i++)
                {
                    int truth = batch.Labels[i];
                    cm.Add(truth, KwsTta.ArgMax(p, i, c));
                    // Clamped so one confidently wrong clip gives a large but finite loss.
                    nll -= Math.Log(Math.Max(p[i * c + truth], 1e-30));
                }
                done += batch.Size;
                progress?.Invoke(done, total);
            }
        return new KwsEvalResult(cm, cm.Total == 0 ? 0 : nll / cm.Total, sw.Elapsed.TotalSeconds);
    }

    /// <summary>Throws unless two label lists are equal (same names, same order).</summary>
    public static void RequireSameLabels(IReadOnlyList<string> model, IReadOnlyList<string> other, string otherName)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(other);
        if (!model.SequenceEqual(other, StringComparer.Ordinal))
            throw new InvalidDataException($"the model's classes [{string.Join(", ", model)}] differ from {otherName}'s [{string.Join(", ", other)}].");
    }

    /// <summary>The wanted words of a classifier's labels: all labels after _silence_ and _unknown_ (which must come first).</summary>
    public static IReadOnlyList<string> WantedWords(IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count < 3 || labels[0] != SpeechCommandsDataset.SilenceLabel || labels[1] != SpeechCommandsDataset.UnknownLabel)
            throw new InvalidDataException($"the model's classes [{string.Join(", ", labels)}] are not Speech Commands classes ({SpeechCommandsDataset.SilenceLabel}, {SpeechCommandsDataset.UnknownLabel}, words...).");
        return labels.Skip(2).ToArray();
    }
}
